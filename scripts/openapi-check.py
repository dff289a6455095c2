#!/usr/bin/env python3
"""Checks the OpenAPI document of spoki-rs, and the documented request bodies against it.

    python3 scripts/openapi-check.py [DOCUMENT [EXAMPLES]] [--responses FILE]

DOCUMENT defaults to crates/spoki-mock/openapi.json (written by `cargo xtask openapi`) and
EXAMPLES to crates/spoki-models/tests/data/request-examples.json.

1. The document is validated as OpenAPI 3.1 by openapi-spec-validator, and every operation id
   (those listed in `x-spoki-operations` of a shared route included) must be unique.
2. Every documented request body that is not marked `skip` (its `expect` when it has one: the
   body the SDK sends) is validated against the body schema of its operation, and of each of
   its `also_operations`, with a JSON Schema 2020-12 validator that resolves the `$ref`s into
   `components/schemas`.
3. With --responses, FILE is a JSON list of answers `{"operation", "body"}` (the mock's test
   writes the local Spoki's), each validated against its operation's 2XX response schema.

The script needs only python3 with its venv module: on the first run it makes a virtual
environment under the cargo target directory ($CARGO_TARGET_DIR, else target/ of the
workspace), `target/openapi-venv`, installs the pinned validators into it, and runs itself
there. It exits 0 when everything validates, 1 when something does not (each problem is
named), 2 when it cannot set itself up.
"""

import argparse
import json
import os
import subprocess
import sys

PINS = {"openapi-spec-validator": "0.9.0", "jsonschema": "4.26.0"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENT = os.path.join(ROOT, "crates", "spoki-mock", "openapi.json")
EXAMPLES = os.path.join(ROOT, "crates", "spoki-models", "tests", "data", "request-examples.json")
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
DOCUMENT_URI = "urn:spoki-rs:openapi"
RERUN = "python3 scripts/openapi-check.py"


def give_up(message):
    print(f"openapi-check: {message}", file=sys.stderr)
    sys.exit(2)


def venv_dir():
    target = os.environ.get("CARGO_TARGET_DIR")
    target = os.path.abspath(target) if target else os.path.join(ROOT, "target")
    return os.path.join(target, "openapi-venv")


def venv_python(venv):
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def pins_installed(python):
    probe = (
        "import importlib.metadata as m, sys\n"
        f"pins = {PINS!r}\n"
        "sys.exit(0 if all(m.version(p) == v for p, v in pins.items()) else 1)\n"
    )
    try:
        return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0
    except OSError:
        return False


def pip(command):
    """None when the command succeeds, else what it said."""
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        return str(e)
    return None if done.returncode == 0 else (done.stdout + done.stderr).strip()


def make_venv(venv, clear):
    command = [sys.executable, "-m", "venv", *(["--clear"] if clear else []), venv]
    made = subprocess.run(command, capture_output=True, text=True)
    if made.returncode != 0:
        give_up(
            f"cannot create the virtual environment {venv}:\n{made.stderr.strip()}\n"
            "install Python's venv module and pip (on Debian or Ubuntu: "
            f"`apt-get install python3-venv python3-pip`), then run `{RERUN}`"
        )


def set_up():
    """The venv's python, with the pinned validators installed (only when they are missing)."""
    venv = venv_dir()
    python = venv_python(venv)
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    # Tests run in parallel: one of them sets the venv up while the others wait.
    with open(venv + ".lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:
            pass
        if pins_installed(python):
            return python
        if not os.path.exists(python):
            make_venv(venv, clear=False)
        pins = [f"{name}=={version}" for name, version in PINS.items()]
        install = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *pins]
        failed = pip(install)
        if failed is not None:
            # A venv left broken (its Python moved or upgraded): make it anew, once.
            make_venv(venv, clear=True)
            failed = pip(install)
        if failed is None and not pins_installed(python):
            failed = "the pinned versions are still not installed"
        if failed is not None:
            give_up(
                f"pip could not install the validators:\n{failed}\n"
                f"run `{' '.join(install)}` (it needs PyPI), then `{RERUN}`"
            )
    return python


def in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(venv_dir())


def pointer_part(text):
    return text.replace("~", "~0").replace("/", "~1")


def operations(document):
    """Each operation id, with the JSON pointers to its body schemas (its own, and for an
    operation of a shared route also the route's; an empty list: no body) and to its answer's
    schema (None: an empty answer)."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            at = f"/paths/{pointer_part(path)}/{method}"
            shared = operation.get("x-spoki-operations")
            listed = (
                [(each, f"{at}/x-spoki-operations/{i}") for i, each in enumerate(shared)]
                if shared
                else [(operation, at)]
            )
            route = []
            if shared and "requestBody" in operation:
                route = [f"{at}/requestBody/content/application~1json/schema"]
            for each, pointer in listed:
                bodies = []
                if "requestBody" in each:
                    bodies = [f"{pointer}/requestBody/content/application~1json/schema", *route]
                answer = None
                success = each.get("responses", {}).get("2XX", {})
                if "application/json" in success.get("content", {}):
                    answer = f"{pointer}/responses/2XX/content/application~1json/schema"
                found.append((each.get("operationId"), bodies, answer))
    return found


def describe(error):
    """An exception's message, without the whole document some of them quote."""
    ref = getattr(error, "ref", None)
    if ref is not None:
        return f"{type(error).__name__}: the $ref {ref!r} leads nowhere"
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 400 else text[:400] + "..."


def check_document(document, name):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    problems = []
    try:
        for error in OpenAPIV31SpecValidator(document).iter_errors():
            where = "/".join(str(p) for p in error.absolute_path) or "(the document)"
            problems.append(f"{where}: {error.message}")
    except Exception as e:  # an unresolvable $ref stops the validator itself
        problems.append(describe(e))
    if document.get("openapi") != "3.1.0":
        problems.append(f"openapi is {document.get('openapi')!r}, not '3.1.0'")
    listed = [operation_id for operation_id, _, _ in operations(document)]
    # The operation of a shared route has its own id, which must not be one of theirs either.
    routes = [
        operation.get("operationId")
        for item in document.get("paths", {}).values()
        for method, operation in item.items()
        if method in METHODS and "x-spoki-operations" in operation
    ]
    seen = set()
    for operation_id in listed + routes:
        if operation_id in seen:
            problems.append(f"operationId {operation_id!r} appears more than once")
        seen.add(operation_id)
    for problem in problems:
        print(f"openapi-check: {name}: {problem}", file=sys.stderr)
    return problems, len(set(listed))


class Schemas:
    """Validates JSON against schemas of the document, found by JSON pointer, resolving their
    `$ref`s into the document (JSON Schema 2020-12, the dialect of OpenAPI 3.1)."""

    def __init__(self, document):
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(DOCUMENT_URI, resource)

    def problem(self, pointer, value):
        """What is wrong with `value` under the schema at `pointer`; None when it validates."""
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match

        schema = {"$ref": f"{DOCUMENT_URI}#{pointer}"}
        validator = Draft202012Validator(schema, registry=self.registry)
        try:
            error = best_match(validator.iter_errors(value))
        except Exception as e:  # a $ref that leads nowhere
            return describe(e)
        if error is None:
            return None
        where = "".join(f"[{p!r}]" for p in error.absolute_path) or "the body"
        return f"at {where}: {error.message}"


def check_examples(document, path):
    schemas = Schemas(document)
    bodies = {operation_id: body for operation_id, body, _ in operations(document)}
    with open(path, encoding="utf-8") as f:
        examples = json.load(f)["examples"]
    problems = []
    validated = skipped = 0
    for example in examples:
        n = example.get("n")
        if "skip" in example:
            skipped += 1
            continue
        body = example["expect"] if "expect" in example else example["body"]
        for operation_id in [example["operation"], *example.get("also_operations", [])]:
            if operation_id not in bodies:
                problems.append(f"example {n}: no operation {operation_id!r} in the document")
                continue
            if not bodies[operation_id]:
                problems.append(f"example {n} ({operation_id}): the operation takes no body")
                continue
            failed = None
            # Its own body schema, then (on a shared route) the route's `anyOf`.
            for i, pointer in enumerate(bodies[operation_id]):
                failed = schemas.problem(pointer, body)
                if failed is not None:
                    if i > 0:
                        failed = f"the route's body schema: {failed}"
                    break
            if failed is None:
                validated += 1
            else:
                problems.append(f"example {n} ({operation_id}): {failed}")
    for problem in problems:
        print(f"openapi-check: {problem}", file=sys.stderr)
    return problems, validated, len(examples), skipped


def check_responses(document, path):
    schemas = Schemas(document)
    answers = {operation_id: answer for operation_id, _, answer in operations(document)}
    with open(path, encoding="utf-8") as f:
        responses = json.load(f)
    problems = []
    for response in responses:
        operation_id = response["operation"]
        if operation_id not in answers:
            problems.append(f"answer of {operation_id}: no such operation in the document")
        elif answers[operation_id] is None:
            if response.get("body") is not None:
                problems.append(f"answer of {operation_id}: a body, where none is documented")
        else:
            failed = schemas.problem(answers[operation_id], response.get("body"))
            if failed is not None:
                problems.append(f"answer of {operation_id}: {failed}")
    for problem in problems:
        print(f"openapi-check: {problem}", file=sys.stderr)
    print(
        f"openapi-check: {len(responses) - len(problems)} answers validate against their "
        f"operations' response schemas ({len(problems)} failed)"
    )
    return problems


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        usage="python3 scripts/openapi-check.py [DOCUMENT [EXAMPLES]] [--responses FILE]",
    )
    parser.add_argument("document", nargs="?", default=DOCUMENT)
    parser.add_argument("examples", nargs="?", default=EXAMPLES)
    parser.add_argument("--responses", metavar="FILE")
    args = parser.parse_args(argv)
    if not in_venv():
        python = set_up()
        os.execv(python, [python, os.path.abspath(__file__), *argv])
    document_path = os.path.abspath(args.document)
    examples_path = os.path.abspath(args.examples)
    name = os.path.relpath(document_path, ROOT)
    with open(document_path, encoding="utf-8") as f:
        document = json.load(f)
    document_problems, operation_count = check_document(document, name)
    if not document_problems:
        print(f"openapi-check: {name} is valid OpenAPI 3.1 ({operation_count} operation ids)")
    body_problems, validated, total, skipped = check_examples(document, examples_path)
    print(
        f"openapi-check: {validated} documented request bodies validate against their "
        f"operations' schemas ({total} examples, {skipped} skipped, "
        f"{len(body_problems)} failed)"
    )
    answer_problems = check_responses(document, args.responses) if args.responses else []
    return 1 if document_problems or body_problems or answer_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
