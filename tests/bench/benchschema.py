# tests/bench/benchschema.py - a validator for the JSON Schema keywords
# docs/bench-schema.json uses, so that no jsonschema package is needed:
# validate() returns the list of what is wrong, empty when nothing is.
# Shared by check_bench.py and check_paced.py.
import re

TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool,
    "null": type(None),
}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


KNOWN = {"$schema", "$id", "title", "description", "type", "required", "additionalProperties",
         "properties", "const", "items", "minItems", "maxItems", "minimum", "exclusiveMinimum",
         "enum", "pattern", "$ref", "$defs"}


def validate(v, s, root, path="$", errors=None):
    if errors is None:
        errors = []
    fail = errors.append
    for k in s:
        if k not in KNOWN:
            raise SystemExit("schema keyword %r not supported by this checker" % k)
    if "$ref" in s:
        ref = s["$ref"]
        assert ref.startswith("#/$defs/"), ref
        validate(v, root["$defs"][ref[len("#/$defs/"):]], root, path, errors)
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(is_type(v, t) for t in ts):
            fail("%s: %r is not of type %s" % (path, v, ts))
            return errors
    if "const" in s and v != s["const"]:
        fail("%s: %r != %r" % (path, v, s["const"]))
    if "enum" in s and v not in s["enum"]:
        fail("%s: %r not in %s" % (path, v, s["enum"]))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            fail("%s: %r < minimum %r" % (path, v, s["minimum"]))
        if "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            fail("%s: %r <= exclusiveMinimum %r" % (path, v, s["exclusiveMinimum"]))
    if isinstance(v, str) and "pattern" in s and not re.search(s["pattern"], v):
        fail("%s: %r does not match %s" % (path, v, s["pattern"]))
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                fail("%s: missing %r" % (path, k))
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                validate(x, props[k], root, path + "." + k, errors)
            elif s.get("additionalProperties") is False:
                fail("%s: unexpected property %r" % (path, k))
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            fail("%s: fewer than %d items" % (path, s["minItems"]))
        if "maxItems" in s and len(v) > s["maxItems"]:
            fail("%s: more than %d items" % (path, s["maxItems"]))
        if "items" in s:
            for i, x in enumerate(v):
                validate(x, s["items"], root, "%s[%d]" % (path, i), errors)
    return errors


def check_catches(schema):
    """The validator must catch a broken document, or its silence means nothing."""
    broken = {"schema": "ipckit-bench/0", "results": [{"kind": "rtt", "p50_ns": -1}]}
    if len(validate(broken, schema, schema)) < 3:
        raise SystemExit("the schema checker does not catch a broken document")
