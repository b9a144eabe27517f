#!/usr/bin/env python3
"""Writes src/webhooks/conditions/netbox_table.json: every condition below, evaluated against DATA
by NetBox's own `extras/conditions.py`, with NetBox's outcome and message. The Rust test
(src/webhooks/conditions/tests.rs) checks our condition language against that table, so the
expected values come from NetBox, not from the code under test.

    python3 scripts/conditions_table.py NETBOX            # NETBOX: a NetBox checkout, or its
                                                          # netbox/extras/conditions.py

Which NetBox: the file as it is in releases v4.5.10 to v4.6.8 and on main at 43fe81f9e, the
version our conditions follow; its git blob id is pinned below and checked, so the table cannot be
regenerated from another version by accident (`--any-version` allows it, to see what a newer
NetBox changes). NetBox's releases on PyPI start at 4.7.0, whose conditions.py adds snapshot
operators, so a pinned `pip install` cannot give this version: take it from a checkout
(`git clone https://github.com/netbox-community/netbox && git -C netbox checkout v4.6.8`).

Nothing of NetBox is copied here: its file is loaded as it is, with a stand-in for the one thing it
imports (`django.utils.translation.gettext`, an identity function without Django's settings).

Outcomes, per row:
- `true` / `false`: `ConditionSet(conditions).eval(DATA)` returned it.
- `invalid`: `eval` raised `InvalidCondition` (NetBox logs it and the rule does not match).
- `refused`: `ConditionSet(...)` raised `ValueError` (NetBox refuses the rule when it is saved).
- `uncaught` is set when NetBox raised anything else (a `TypeError`, a `KeyError`): NetBox crashes
  there, at `stage` "parse" or "eval"; the Rust test says what we do instead.
"""

import argparse
import hashlib
import json
import pathlib
import platform
import subprocess
import sys
import types

# git blob id of netbox/extras/conditions.py in v4.5.10 … v4.6.8 and on main at 43fe81f9e.
PINNED_BLOB = "bcf005947b548078b797835bd8afeefc930daab8"
PINNED_VERSION = "v4.6.8 (same file: v4.5.10 to v4.6.8, main at 43fe81f9e)"

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "src/webhooks/conditions/netbox_table.json"

# The object every row is evaluated against.
DATA = """{
  "id": 1, "name": "Site 1", "slug": "site-1",
  "status": {"value": "active", "label": "Active"},
  "region": null,
  "tenant": {"name": "T", "group": null},
  "asn": 65000, "latitude": 12.5, "enabled": true, "count": 0,
  "big": 9007199254740993,
  "flags": [1, true, 0.0],
  "tags": [{"slug": "a", "name": "A"}, {"slug": "b", "name": "B"}],
  "empty_tags": [],
  "items_with_null": [{"k": 1}, null],
  "nested": [{"ips": [{"address": "10.0.0.1"}]}],
  "interfaces": [{"ip": {"address": "10.0.0.1"}}, {"ip": {"address": "10.0.0.2"}}],
  "custom_fields": {"cf_list": ["x", "y"], "cf_num": 3, "cf_str": ""},
  "description": "",
  "comments": "multi\\nline",
  "trail": "abc\\n",
  "lines": "xab\\nab",
  "umax": 18446744073709551615, "neg": -3, "half": 2.5, "two": 2, "off": false, "huge": 1e300
}"""

# Each row is the conditions as JSON text (ints and floats stay as written).
ROWS = r"""
{"attr":"status.value","value":"active"}
{"attr":"status.value","value":"planned"}
{"attr":"status.value","value":"active","negate":true}
{"attr":"asn","value":65000}
{"attr":"asn","value":65000.0}
{"attr":"asn","value":"65000"}
{"attr":"enabled","value":true}
{"attr":"enabled","value":1}
{"attr":"count","value":false}
{"attr":"count","value":0.0}
{"attr":"region","value":null}
{"attr":"tenant","value":null}
{"attr":"tags.slug","value":["a","b"]}
{"attr":"tags.slug","value":["b","a"]}
{"attr":"flags","value":[1,true,0.0]}
{"attr":"big","value":9007199254740992.0}
{"attr":"big","value":9007199254740993}
{"attr":"latitude","value":12.5}
{"attr":"status","value":{"value":"active"}}
{"attr":"asn","op":"gt","value":64999}
{"attr":"asn","op":"gte","value":65000}
{"attr":"asn","op":"lt","value":65000}
{"attr":"asn","op":"lte","value":65000.0}
{"attr":"latitude","op":"gt","value":12}
{"attr":"latitude","op":"lt","value":12.6}
{"attr":"enabled","op":"gt","value":0}
{"attr":"big","op":"gt","value":9007199254740992.0}
{"attr":"asn","op":"gt","value":1,"negate":true}
{"attr":"name","op":"gt","value":1}
{"attr":"region","op":"lt","value":1}
{"attr":"tags.slug","op":"gte","value":1}
{"attr":"status.value","op":"in","value":["active","planned"]}
{"attr":"status.value","op":"in","value":["planned"]}
{"attr":"asn","op":"in","value":[65000.0]}
{"attr":"enabled","op":"in","value":[1]}
{"attr":"tags.slug","op":"in","value":[["a","b"]]}
{"attr":"name","op":"in","value":["site 1"],"negate":true}
{"attr":"region","op":"in","value":[null]}
{"attr":"tags.slug","op":"contains","value":"a"}
{"attr":"tags.slug","op":"contains","value":"c"}
{"attr":"tags.slug","op":"contains","value":["a"]}
{"attr":"name","op":"contains","value":"Site"}
{"attr":"name","op":"contains","value":"site"}
{"attr":"name","op":"contains","value":""}
{"attr":"name","op":"contains","value":1}
{"attr":"asn","op":"contains","value":6}
{"attr":"enabled","op":"contains","value":true}
{"attr":"region","op":"contains","value":"x"}
{"attr":"custom_fields","op":"contains","value":"cf_num"}
{"attr":"custom_fields","op":"contains","value":3}
{"attr":"custom_fields","op":"contains","value":["x"]}
{"attr":"custom_fields.cf_list","op":"contains","value":"x","negate":true}
{"attr":"flags","op":"contains","value":true}
{"attr":"flags","op":"contains","value":0}
{"attr":"name","op":"regex","value":"Site"}
{"attr":"name","op":"regex","value":"ite"}
{"attr":"name","op":"regex","value":".*1$"}
{"attr":"name","op":"regex","value":"(?i)site \\d"}
{"attr":"comments","op":"regex","value":"multi$"}
{"attr":"comments","op":"regex","value":"multi\\nline$"}
{"attr":"name","op":"regex","value":"x|S"}
{"attr":"asn","op":"regex","value":"6"}
{"attr":"region","op":"regex","value":"x"}
{"attr":"name","op":"regex","value":"Site","negate":true}
{"attr":"tenant.group.name","value":"x"}
{"attr":"region.name","value":null}
{"attr":"missing","value":1}
{"attr":"missing","value":1,"negate":true}
{"attr":"empty_tags.slug","value":[]}
{"attr":"empty_tags.slug","op":"contains","value":"a"}
{"attr":"description.x","value":1}
{"attr":"count.x","value":1}
{"attr":"items_with_null.k","value":[1,null]}
{"attr":"nested.ips.address","value":[]}
{"attr":"name.first","value":"x"}
{"attr":"tags.slug.x","value":"x"}
{"attr":"interfaces.ip.address","value":["10.0.0.1","10.0.0.2"]}
{"and":[{"attr":"status.value","value":"active"},{"attr":"status.value","value":"active"}]}
{"and":[{"attr":"status.value","value":"active"},{"attr":"status.value","value":"planned"}]}
{"or":[{"attr":"status.value","value":"planned"},{"attr":"status.value","value":"active"}]}
{"or":[{"attr":"status.value","value":"planned"},{"attr":"status.value","value":"planned"}]}
{"and":[]}
{"or":[]}
{"and":[{"attr":"status.value","value":"active"},{"or":[{"attr":"status.value","value":"planned"},{"attr":"status.value","value":"active"}]}]}
{"or":[{"attr":"status.value","value":"planned"},{"and":[{"attr":"status.value","value":"active"},{"or":[{"attr":"status.value","value":"planned"},{"and":[{"attr":"status.value","value":"active"},{"attr":"status.value","value":"active"}]}]}]}]}
{"or":[{"attr":"status.value","value":"planned"},{"and":[{"attr":"status.value","value":"active"},{"or":[{"attr":"status.value","value":"planned"},{"and":[{"attr":"status.value","value":"active"},{"attr":"status.value","value":"planned"}]}]}]}]}
{"or":[{"attr":"status.value","value":"active"},{"attr":"missing","value":1}]}
{"or":[{"attr":"missing","value":1},{"attr":"status.value","value":"active"}]}
{"and":[{"attr":"status.value","value":"planned"},{"attr":"missing","value":1}]}
{"and":[{"attr":"status.value","value":"active"},{"attr":"missing","value":1}]}
{"and":[{"attr":"status.value","value":"active"},{"or":[{"attr":"missing","value":1}]}]}
{"or":[{"and":[{"attr":"status.value","value":"planned"},{"attr":"missing","value":1}]},{"attr":"status.value","value":"active"}]}
{"or":[{"attr":"status.value","value":"active"},{"attr":"name","op":"gt","value":1}]}
{"and":[{"attr":"status.value","value":"active"},{"attr":"name","op":"gt","value":1}]}
{"and":[{"attr":"missing","value":1,"negate":true}]}
{"AND":[{"attr":"status.value","value":"active"}]}
{"xor":[{"attr":"status.value","value":"active"}]}
{"xor":[]}
{"and":{"attr":"status.value","value":"active"}}
{"and":["x"]}
{"and":[{"attr":"x"}]}
{"and":[{"AND":[{"attr":"status.value","value":"active"}]}]}
{"attr":"a","value":1,"foo":2}
{"attr":"a"}
{}
{"attr":"a","op":"neq","value":1}
{"attr":"a","op":"gt","value":"x"}
{"attr":"a","op":"contains","value":null}
{"attr":"a","op":"gt","value":true}
{"attr":"a","op":"lt","value":[1]}
{"attr":"a","op":"regex","value":1}
{"attr":"a","value":{"b":1}}
{"attr":"a","op":"in","value":"abc"}
[{"attr":"status.value","value":"active"}]
[]
{"attr":"name","op":"regex","value":"("}
{"attr":"name","op":"regex","value":"S(?=ite)"}
{"attr":"name","value":"x","negate":1}
{"attr":"trail","op":"regex","value":"abc$"}
{"attr":"lines","op":"regex","value":"xa"}
{"attr":"lines","op":"regex","value":"ab"}
{"attr":"lines","op":"regex","value":"(?m)^ab"}
{"attr":"lines","op":"regex","value":"x|ab"}
{"attr":"umax","op":"gt","value":1.8e19}
{"attr":"umax","op":"eq","value":18446744073709551615}
{"attr":"umax","op":"eq","value":1.8446744073709552e19}
{"attr":"neg","op":"lt","value":-2.5}
{"attr":"half","op":"gt","value":2}
{"attr":"two","op":"gte","value":2.0000001}
{"attr":"two","op":"lte","value":2.0}
{"attr":"off","op":"lt","value":1}
{"attr":"huge","op":"gt","value":9223372036854775807}
{"attr":"huge","op":"lt","value":1e301}
"""


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def netbox_source(path: pathlib.Path) -> bytes:
    if path.is_dir():
        return subprocess.run(
            ["git", "-C", str(path), "show", "v4.6.8:netbox/extras/conditions.py"],
            check=True,
            capture_output=True,
        ).stdout
    return path.read_bytes()


def load_conditions(source: bytes) -> types.ModuleType:
    """NetBox's module, with `gettext` standing in for Django's translation."""
    for name in ("django", "django.utils", "django.utils.translation"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["django.utils.translation"].gettext = lambda text: text
    module = types.ModuleType("netbox_conditions")
    exec(compile(source, "netbox/extras/conditions.py", "exec"), module.__dict__)
    return module


def evaluate(conditions_module, conditions, data) -> dict:
    known = (ValueError, conditions_module.InvalidCondition)
    try:
        condition_set = conditions_module.ConditionSet(conditions)
    except known as error:
        return {"netbox": "refused", "message": str(error)}
    except Exception as error:  # NetBox crashes here
        return {"netbox": "refused", "uncaught": f"{type(error).__name__}: {error}", "stage": "parse"}
    try:
        result = condition_set.eval(data)
    except conditions_module.InvalidCondition as error:
        return {"netbox": "invalid", "message": str(error)}
    except Exception as error:  # NetBox crashes here
        return {"netbox": "invalid", "uncaught": f"{type(error).__name__}: {error}", "stage": "eval"}
    return {"netbox": "true" if result else "false"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("netbox", type=pathlib.Path, help="a NetBox checkout, or its netbox/extras/conditions.py")
    parser.add_argument("--any-version", action="store_true", help="do not insist on the pinned file")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()

    source = netbox_source(args.netbox)
    blob = git_blob_id(source)
    if blob != PINNED_BLOB and not args.any_version:
        sys.exit(f"{args.netbox}: conditions.py is blob {blob}, not the pinned {PINNED_BLOB} ({PINNED_VERSION})")
    module = load_conditions(source)
    data = json.loads(DATA)
    rows = []
    for line in ROWS.strip().splitlines():
        conditions = json.loads(line)
        rows.append({"conditions": conditions, **evaluate(module, conditions, data)})
    table = {
        "generated_by": "scripts/conditions_table.py",
        "netbox": {"file": "netbox/extras/conditions.py", "git_blob": blob, "version": PINNED_VERSION if blob == PINNED_BLOB else "unpinned"},
        "python": platform.python_version(),
        "data": data,
        "rows": rows,
    }
    args.out.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)} rows from NetBox's conditions.py (blob {blob})")


if __name__ == "__main__":
    main()
