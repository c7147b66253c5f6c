"""Validates a JSON document against one of the OCI image-spec JSON schemas.

usage: check_schema.py SCHEMA_DIR SCHEMA_FILE DOCUMENT

The schemas refer to each other by names such as `defs-descriptor.json` under base URIs of
opencontainers.org; every such reference is answered from SCHEMA_DIR, never the network.
"""

import json
import os
import sys

import jsonschema
import referencing
import referencing.jsonschema


def main() -> int:
    schema_dir, schema_file, document = sys.argv[1:4]

    def retrieve(uri: str) -> referencing.Resource:
        name = uri.rstrip("/").rsplit("/", 1)[-1].split("#", 1)[0]
        if not name.endswith(".json"):
            name += ".json"
        with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
            contents = json.load(f)
        return referencing.Resource.from_contents(
            contents, default_specification=referencing.jsonschema.DRAFT4
        )

    with open(os.path.join(schema_dir, schema_file), encoding="utf-8") as f:
        schema = json.load(f)
    with open(document, encoding="utf-8") as f:
        instance = json.load(f)
    registry = referencing.Registry(retrieve=retrieve)
    validator = jsonschema.Draft4Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    for error in errors:
        where = "/".join(str(p) for p in error.path) or "(root)"
        print(f"{document}: {where}: {error.message}")
    if errors:
        return 1
    print(f"{document}: valid against {schema_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
