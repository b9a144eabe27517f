#!/usr/bin/env python3
"""Writes tests/data/templates.jsonl and tests/data/templates_context.json: webhook templates of
the kinds NetBox's docs and users write, each rendered by Jinja2 3.1.6's SandboxedEnvironment on
one shared context, as NetBox's render_jinja2 renders them (BaseLoader, default Undefined,
NetBox's `env` filter, `header_safe` for additional headers). tests/templates.rs renders every
row with manage and checks it: the same bytes, or refused at load with the reason recorded here
(the reasons are manage's own words), or, where Jinja2 itself fails, a failure at render.

Run with the test virtualenv (scripts/setup.sh installs jinja2==3.1.6):
    .venv/bin/python scripts/gen_template_table.py
"""
import json
import os
import re
import sys

import jinja2
from jinja2 import BaseLoader
from jinja2.sandbox import SandboxedEnvironment

assert jinja2.__version__ == "3.1.6", jinja2.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")

CONTEXT = {
    "event": "updated",
    "timestamp": "2026-03-06T15:11:23.503186+00:00",
    "object_type": "dcim.site",
    "username": "admin",
    "request_id": "9c3c5f4e-1111-2222-3333-444455556666",
    "data": {
        "id": 42,
        "url": "/api/dcim/sites/42/",
        "display": "Zürich DC-1",
        "name": "Zürich DC-1",
        "slug": "zurich-dc-1",
        "status": {"value": "active", "label": "Active"},
        "region": None,
        "tenant": {"id": 7, "name": "Ops Team", "slug": "ops"},
        "facility": "",
        "description": "Main site — \"primary\" <core> & 'edge'",
        "latitude": 47.3769,
        "longitude": 8.5417,
        "asn": 4294967295,
        "big": 18446744073709551615,
        "negative": -9223372036854775808,
        "ratio": 0.1,
        "tiny": 1e-7,
        "huge": 1e16,
        "whole": 3.0,
        "zero": 0,
        "enabled": True,
        "disabled": False,
        "tags": [
            {"id": 1, "name": "Alpha", "slug": "alpha", "color": "ff0000"},
            {"id": 2, "name": "beta", "slug": "beta", "color": "00ff00"},
            {"id": 3, "name": "Gamma ray", "slug": "gamma-ray", "color": "0000ff"},
        ],
        "custom_fields": {
            "cost": 1234.5,
            "owner": "ops@example.com",
            "notes": None,
            "circuits": [1, 2, 3],
            "flag": True,
            "rank": 3,
            "emoji": "🚀 launch",
            "nested": {"a": {"b": [1, {"c": None}]}},
        },
        "comments": "Line one\nLine two\n\n  indented line",
        "html": "<p>Hello <b>World</b> &amp; friends<!-- hidden --></p>",
        "words": "the quick brown fox jumps over the lazy dog " * 3,
        "mixed_case": "hELLO wORLD, it's me",
        "csv": "a,b,,c",
        "spaces": "  padded  ",
        "numbers": [3, 1, 2, 10, -5],
        "floats": [1.5, 2.25, 0.1, 0.2],
        "names": ["bob", "Alice", "carol", "alice"],
        "devices": [
            {"name": "sw1", "role": "switch", "rack": 1},
            {"name": "rt1", "role": "router", "rack": 2},
            {"name": "sw2", "role": "Switch", "rack": 1},
        ],
        "matrix": [[1, 2], [3, [4, 5]], []],
        "empty_list": [],
        "empty_dict": {},
    },
    "snapshots": {
        "prechange": {"name": "Old name", "status": "planned", "tags": [], "asn": None},
        "postchange": {"name": "Zürich DC-1", "status": "active", "tags": ["alpha"], "asn": 4294967295},
    },
}

SLACK = """{
  "text": "{{ object_type }} {{ data.name }} was {{ event }} by {{ username }}",
  "blocks": [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*{{ data.name }}* is now *{{ data.status.label }}*"}},
    {"type": "context", "elements": [{% for tag in data.tags %}{"type": "plain_text", "text": "{{ tag.name }}"}{% if not loop.last %}, {% endif %}{% endfor %}]}
  ]
}"""

TEAMS = """{
  "@type": "MessageCard",
  "@context": "https://schema.org/extensions",
  "summary": {{ (data.name ~ " " ~ event)|tojson }},
  "themeColor": "{{ '00FF00' if data.status.value == 'active' else 'FF0000' }}",
  "sections": [{
    "activityTitle": {{ ("NetBox: " ~ object_type)|tojson }},
    "facts": [
      {% for key, value in data.custom_fields.items() %}{"name": {{ key|tojson }}, "value": {{ value|string|tojson }}}{{ "," if not loop.last }}
      {% endfor %}
    ]
  }]
}"""

# (id, field, template, refusal reason or None). The reason is manage's message, checked
# byte for byte by tests/templates.rs.
ROWS = [
    # --- URLs -----------------------------------------------------------------------------
    ("url-path", "url", "https://hooks.example.com/{{ object_type }}/{{ data.id }}", None),
    ("url-slug", "url", "https://hooks.example.com/sites/{{ data.slug }}/", None),
    ("url-event", "url", "https://hooks.example.com/{{ event }}?id={{ data.id }}", None),
    ("url-urlencode-name", "url", "https://hooks.example.com/find?q={{ data.name|urlencode }}", None),
    ("url-urlencode-dict", "url", "https://hooks.example.com/find?{{ {'site': data.name, 'id': data.id, 'x': 'a b&c'}|urlencode }}", None),
    ("url-urlencode-pairs", "url", "https://hooks.example.com/find?{{ [('a', 1), ('b', 'x/y')]|urlencode }}", None),
    ("url-urlencode-path", "url", "https://hooks.example.com/{{ 'a b/c?d'|urlencode }}", None),
    ("url-lower-replace", "url", "https://hooks.example.com/{{ data.name|lower|replace(' ', '-') }}", None),
    ("url-default", "url", "https://hooks.example.com/{{ data.region.slug|default('global') }}/{{ data.id }}", None),
    ("url-tenant", "url", "https://hooks.example.com/t/{{ data.tenant.slug }}/{{ data.id }}", None),
    ("url-conditional", "url", "https://{% if data.status.value == 'active' %}prod{% else %}staging{% endif %}.example.com/hook", None),
    ("url-ternary", "url", "https://hooks.example.com/{{ 'on' if data.enabled else 'off' }}", None),
    ("url-type-split", "url", "https://hooks.example.com/{{ object_type.split('.')[0] }}/{{ object_type.split('.')[1] }}", None),
    ("url-type-replace", "url", "https://hooks.example.com/{{ object_type|replace('.', '/') }}/{{ data.id }}", None),
    ("url-concat", "url", "{{ 'https://hooks.example.com/' ~ data.id ~ '/' ~ data.enabled }}", None),
    ("url-percent", "url", "{{ 'https://hooks.example.com/%s/%05d' % (data.slug, data.id) }}", None),
    ("url-format-filter", "url", "{{ 'https://hooks.example.com/%s-%s'|format(event, data.id) }}", None),
    ("url-timestamp", "url", "https://hooks.example.com/at/{{ timestamp[:10] }}", None),
    ("url-username", "url", "https://hooks.example.com/u/{{ username|upper }}", None),
    ("url-trim", "url", "https://hooks.example.com/{{ data.spaces|trim }}", None),
    ("url-id-math", "url", "https://hooks.example.com/page/{{ data.id // 10 }}/{{ data.id % 10 }}", None),
    ("url-get", "url", "https://hooks.example.com/{{ data.get('slug') }}/{{ data.get('nope', 'none') }}", None),
    # --- headers ------------------------------------------------------------------------
    ("hdr-event", "headers", "X-Event: {{ event }}\nX-Object: {{ object_type }}", None),
    ("hdr-bearer", "headers", "Authorization: Bearer {{ data.custom_fields.owner }}", None),
    ("hdr-header-safe", "headers", "X-Comments: {{ data.comments|header_safe }}", None),
    ("hdr-tags", "headers", "X-Tags: {{ data.tags|map(attribute='slug')|join(',') }}", None),
    ("hdr-count", "headers", "X-Tag-Count: {{ data.tags|length }}", None),
    ("hdr-padded-id", "headers", "X-Id: {{ '%05d' % data.id }}", None),
    ("hdr-user-default", "headers", "X-User: {{ username|default('system', true) }}\nX-Request: {{ request_id }}", None),
    ("hdr-bool", "headers", "X-Enabled: {{ data.enabled }}\nX-Disabled: {{ data.disabled|lower }}", None),
    ("hdr-float", "headers", "X-Lat: {{ data.latitude }}\nX-Ratio: {{ data.ratio * 3 }}", None),
    ("hdr-none", "headers", "X-Region: {{ data.region }}\nX-Notes: {{ data.custom_fields.notes }}", None),
    ("hdr-conditional", "headers", "X-Env: prod\n{% if data.tenant %}X-Tenant: {{ data.tenant.name }}\n{% endif %}X-End: 1", None),
    ("hdr-loop", "headers", "{% for tag in data.tags %}X-Tag-{{ loop.index }}: {{ tag.name }}\n{% endfor %}", None),
    ("hdr-upper", "headers", "X-Site: {{ data.name|upper }}", None),
    ("hdr-truncate", "headers", "X-Words: {{ data.words|truncate(20) }}", None),
    ("hdr-json", "headers", "X-Status: {{ data.status|tojson }}", None),
    ("hdr-big", "headers", "X-Big: {{ data.big }}\nX-Neg: {{ data.negative }}", None),
    ("hdr-urlencode", "headers", "X-Q: {{ data.description|urlencode }}", None),
    ("hdr-startswith", "headers", "X-Z: {{ data.name.startswith('Zü') }}", None),
    ("hdr-ts", "headers", "X-Date: {{ timestamp.split('T')[0] }}", None),
    ("hdr-concat-none", "headers", "X-Desc: {{ 'region=' ~ data.region }}", None),
    # --- bodies: printing values ----------------------------------------------------------
    ("print-none", "body", "{{ data.region }}|{{ data.custom_fields.notes }}", None),
    ("print-bools", "body", "{{ data.enabled }} {{ data.disabled }} {{ true }} {{ false }}", None),
    ("print-floats", "body", "{{ data.latitude }} {{ data.ratio }} {{ data.tiny }} {{ data.huge }} {{ data.whole }}", None),
    ("print-big-ints", "body", "{{ data.asn }} {{ data.big }} {{ data.negative }} {{ data.zero }}", None),
    ("print-list", "body", "{{ data.numbers }} {{ data.names }} {{ data.matrix }}", None),
    ("print-dict", "body", "{{ data.status }} {{ data.tenant }} {{ data.empty_dict }} {{ data.empty_list }}", None),
    ("print-nested", "body", "{{ data.custom_fields }}", None),
    ("print-tags", "body", "{{ data.tags }}", None),
    ("print-unicode", "body", "{{ data.name }} {{ data.custom_fields.emoji }} {{ data.description }}", None),
    ("print-unicode-repr", "body", "{{ [data.name, data.description, data.custom_fields.emoji] }}", None),
    ("print-undefined", "body", "[{{ missing }}][{{ data.missing }}][{{ data.region.name }}]", None),
    ("print-snapshots", "body", "{{ snapshots }}", None),
    ("print-literals", "body", "{{ 1.0 }} {{ 1e3 }} {{ 10 / 4 }} {{ 10 / 5 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }}", None),
    ("print-float-math", "body", "{{ data.ratio + 0.2 }} {{ data.latitude * 2 }} {{ data.cost }} {{ data.custom_fields.cost / 3 }}", None),
    ("print-int-float", "body", "{{ data.id * 1.5 }} {{ data.id / 1 }} {{ data.id - 0.5 }}", None),
    ("print-tuple", "body", "{{ (1, 'a') }} {{ (1,) }} {{ () }}", None),
    ("print-set-tuple", "body", "{% set pair = data.id, data.slug %}{{ pair }} {{ pair[1] }}", None),
    ("print-list-of-tuples", "body", "{{ [(1, 2), ('x', None)] }}", None),
    ("print-dict-literal", "body", "{{ {'a': 1, 'b': [True, None], 'c': 1.5} }}", None),
    ("print-string-escape", "body", "{{ ['it\\'s', 'say \"hi\"', 'tab\\there', 'back\\\\slash'] }}", None),
    ("print-concat-types", "body", "{{ 'x' ~ data.enabled ~ data.region ~ data.ratio ~ data.numbers ~ data.status }}", None),
    ("print-concat-undefined", "body", "{{ 'a' ~ missing ~ 'b' }}", None),
    ("print-safe-repr", "body", "{{ [data.name|e] }}", None),
    # --- bodies: loops over tags and custom fields -----------------------------------------
    ("loop-tags", "body", "{% for tag in data.tags %}{{ tag.slug }}{% if not loop.last %}, {% endif %}{% endfor %}", None),
    ("loop-tags-index", "body", "{% for tag in data.tags %}{{ loop.index }}/{{ loop.length }}:{{ tag.name }} {% endfor %}", None),
    ("loop-tags-revindex", "body", "{% for tag in data.tags %}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }} {% endfor %}", None),
    ("loop-tags-cycle", "body", "{% for tag in data.tags %}{{ loop.cycle('odd', 'even') }} {% endfor %}", None),
    ("loop-tags-filter", "body", "{% for tag in data.tags if tag.name[0].isupper() %}{{ tag.name }};{% endfor %}", None),
    ("loop-tags-else", "body", "{% for tag in data.empty_list %}{{ tag }}{% else %}no tags{% endfor %}", None),
    ("loop-cf-items", "body", "{% for key, value in data.custom_fields.items() %}{{ key }}={{ value }}\n{% endfor %}", None),
    ("loop-cf-items-filter", "body", "{% for key, value in data.custom_fields|items %}{{ key }}:{{ value }};{% endfor %}", None),
    ("loop-cf-dictsort", "body", "{% for key, value in data.custom_fields|dictsort %}{{ key }}={{ value }};{% endfor %}", None),
    ("loop-cf-keys", "body", "{% for key in data.custom_fields.keys() %}{{ key }} {% endfor %}", None),
    ("loop-cf-values", "body", "{% for value in data.custom_fields.values() %}{{ value }} | {% endfor %}", None),
    ("loop-cf-dict", "body", "{% for key in data.custom_fields %}{{ key }}={{ data.custom_fields[key] }};{% endfor %}", None),
    ("loop-nested", "body", "{% for row in data.matrix %}[{% for cell in row %}{{ cell }}{% endfor %}]{% endfor %}", None),
    ("loop-devices-groupby", "body", "{% for group in data.devices|groupby('role') %}{{ group.grouper }}: {{ group.list|map(attribute='name')|join(', ') }}\n{% endfor %}", None),
    ("loop-groupby-unpack", "body", "{% for rack, items in data.devices|groupby('rack') %}{{ rack }}={{ items|length }};{% endfor %}", None),
    ("loop-groupby-print", "body", "{{ data.devices|groupby('rack') }}", None),
    ("loop-previtem", "body", "{% for n in data.numbers %}{{ loop.previtem }}>{{ n }} {% endfor %}", None),
    ("loop-changed", "body", "{% for d in data.devices|sort(attribute='rack') %}{% if loop.changed(d.rack) %}[{{ d.rack }}]{% endif %}{{ d.name }} {% endfor %}", None),
    ("loop-recursive", "body", "{% for item in [1, [2, [3]]] recursive %}{% if item is iterable %}({{ loop(item) }}){% else %}{{ item }}{% endif %}{% endfor %}", None),
    ("loop-range", "body", "{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(10, 0, -3) %}{{ i }},{% endfor %}", None),
    ("loop-namespace", "body", "{% set ns = namespace(total=0) %}{% for n in data.numbers %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}", None),
    ("loop-batch", "body", "{% for row in data.numbers|batch(2, 0) %}{{ row }}{% endfor %}", None),
    ("loop-slice", "body", "{% for col in data.numbers|slice(2) %}{{ col }}{% endfor %}", None),
    ("loop-depth", "body", "{% for tag in data.tags %}{{ loop.depth }}{{ loop.index0 }}{% endfor %}", None),
    # --- bodies: conditionals on snapshots ---------------------------------------------
    ("snap-changed", "body", "{% if snapshots.prechange.status != snapshots.postchange.status %}status {{ snapshots.prechange.status }} -> {{ snapshots.postchange.status }}{% endif %}", None),
    ("snap-name", "body", "{% if snapshots and snapshots.prechange %}renamed from {{ snapshots.prechange.name }}{% else %}new{% endif %}", None),
    ("snap-none", "body", "{{ snapshots.prechange.asn is none }} {{ snapshots.postchange.asn }}", None),
    ("snap-tags-added", "body", "{% for t in snapshots.postchange.tags if t not in snapshots.prechange.tags %}+{{ t }}{% endfor %}", None),
    ("snap-diff", "body", "{% for k in snapshots.postchange %}{% if snapshots.postchange[k] != snapshots.prechange[k] %}{{ k }} {% endif %}{% endfor %}", None),
    ("snap-event", "body", "{% if event == 'created' %}C{% elif event == 'updated' %}U{% else %}D{% endif %}", None),
    ("snap-in", "body", "{{ 'alpha' in snapshots.postchange.tags }} {{ 'name' in snapshots.prechange }} {{ 'x' not in data.csv }}", None),
    ("snap-get", "body", "{{ snapshots.get('prechange', {}).get('name', 'n/a') }}", None),
    # --- bodies: string filters -----------------------------------------------------------
    ("str-upper-lower", "body", "{{ data.name|upper }} {{ data.name|lower }} {{ 'ß'|upper }}", None),
    ("str-title", "body", "{{ data.mixed_case|title }} {{ 'hello-world (foo) [bar]'|title }}", None),
    ("str-capitalize", "body", "{{ data.mixed_case|capitalize }} {{ none|capitalize }}", None),
    ("str-trim", "body", "[{{ data.spaces|trim }}] [{{ 'xxhixx'|trim('x') }}]", None),
    ("str-replace", "body", "{{ data.csv|replace(',', ';') }} {{ data.csv|replace(',', ';', 2) }} {{ 'ab'|replace('', '-') }}", None),
    ("str-truncate", "body", "{{ data.words|truncate(30) }}|{{ data.words|truncate(30, true) }}|{{ data.words|truncate(30, false, '…', 0) }}|{{ 'short'|truncate(3) }}", None),
    ("str-truncate-leeway", "body", "{{ 'hello world foo'|truncate(12) }}|{{ 'hello world foo'|truncate(12, leeway=0) }}", None),
    ("str-wordcount", "body", "{{ data.words|wordcount }} {{ data.description|wordcount }} {{ 'don\\'t_stop-me'|wordcount }}", None),
    ("str-center", "body", "[{{ 'abc'|center(10) }}][{{ 'ab'|center(7) }}][{{ data.id|center(6) }}]", None),
    ("str-indent", "body", "{{ data.comments|indent }}|{{ data.comments|indent(2, true) }}|{{ data.comments|indent('> ', blank=true) }}", None),
    ("str-striptags", "body", "{{ data.html|striptags }}|{{ '<a href=\"x\">link</a>   text\\n more &lt;b&gt;'|striptags }}", None),
    ("str-escape", "body", "{{ data.description|e }}|{{ data.description|escape }}|{{ '<>&\\'\"'|e }}", None),
    ("str-forceescape", "body", "{{ '<b>'|safe|forceescape }} {{ '<b>'|safe|e }} {{ none|e }}", None),
    ("str-safe", "body", "{{ '<b>bold</b>'|safe }}", None),
    ("str-length", "body", "{{ data.name|length }} {{ data.name|count }} {{ ''|length }} {{ missing|length }}", None),
    ("str-reverse-slice", "body", "{{ data.slug[::-1] }} {{ data.slug[:6] }} {{ data.slug[-3:] }} {{ data.slug[1:10:2] }}", None),
    ("str-string", "body", "{{ data.id|string }} {{ data.numbers|string }} {{ none|string }} {{ (data.id|string)|length }}", None),
    ("str-list", "body", "{{ data.slug|list }} {{ 'ab'|list|join('-') }}", None),
    ("str-first-last", "body", "{{ data.name|first }} {{ data.name|last }} {{ data.numbers|first }} {{ data.numbers|last }}", None),
    ("str-int-float", "body", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ '0x1A'|int(0, 16) }} {{ '3.5'|float }} {{ 'nope'|float }} {{ data.id|float }} {{ 7.9|int }} {{ ' 12 '|int }} {{ '1_000'|int }}", None),
    ("str-format-filter", "body", "{{ '%s has %d tags (%.1f%%)'|format(data.name, data.tags|length, 12.345) }}", None),
    ("str-format-kwargs", "body", "{{ '%(name)s/%(id)04d'|format(name=data.slug, id=data.id) }}", None),
    ("str-percent", "body", "{{ '%s-%d' % (data.name, data.id) }}|{{ '%-8s|' % data.slug }}|{{ '%5.2f' % data.latitude }}|{{ '%x %o %e' % (255, 8, 12345.678) }}", None),
    ("str-percent-dict", "body", "{{ '%(slug)s:%(id)s' % data }}", None),
    ("str-percent-repr", "body", "{{ '%r %s' % (data.name, data.region) }}", None),
    ("str-filesizeformat", "body", "{{ 1|filesizeformat }} {{ 1000|filesizeformat }} {{ 123456789|filesizeformat }} {{ 123456789|filesizeformat(true) }} {{ 300|filesizeformat }}", None),
    ("str-pprint-short", "body", "{{ data.status|pprint }}", None),
    ("str-pprint-long", "body", "{{ data.custom_fields|pprint }}", None),
    ("str-pprint-tags", "body", "{{ data.tags|pprint }}", None),
    ("str-pprint-string", "body", "{{ data.words|pprint }}", None),
    ("str-default", "body", "{{ missing|default('dflt') }} {{ data.region|default('none-stays') }} {{ data.facility|default('empty', true) }} {{ data.region|d('x', true) }}", None),
    ("str-tojson", "body", "{{ data|tojson }}", None),
    ("str-tojson-indent", "body", "{{ data.tenant|tojson(indent=2) }}", None),
    ("str-tojson-values", "body", "{{ data.description|tojson }} {{ data.huge|tojson }} {{ data.custom_fields.emoji|tojson }} {{ (1, 2)|tojson }}", None),
    # --- bodies: Python methods ---------------------------------------------------------
    ("m-get", "body", "{{ data.get('description', '') }}|{{ data.get('missing', 'default') }}|{{ data.get('missing') }}|{{ data.custom_fields.get('notes', 'x') }}", None),
    ("m-items", "body", "{{ data.status.items() }} {{ data.status.keys() }} {{ data.status.values() }}", None),
    ("m-items-list", "body", "{{ data.status.items()|list }} {{ data.custom_fields.keys()|list|length }}", None),
    ("m-startswith", "body", "{{ data.name.startswith('Zü') }} {{ data.name.startswith(('A', 'Z')) }} {{ data.slug.endswith('-1') }} {{ data.slug.startswith('dc', 7) }}", None),
    ("m-split", "body", "{{ data.csv.split(',') }} {{ data.words.split() }} {{ data.csv.split(',', 1) }} {{ data.csv.rsplit(',', 1) }} {{ '  a  b  '.split(None, 1) }}", None),
    ("m-upper-lower", "body", "{{ data.name.upper() }} {{ data.name.lower() }} {{ data.mixed_case.swapcase() }} {{ data.mixed_case.title() }} {{ data.mixed_case.capitalize() }}", None),
    ("m-replace", "body", "{{ data.csv.replace(',', ' | ') }} {{ data.csv.replace(',', '', 1) }}", None),
    ("m-strip", "body", "[{{ data.spaces.strip() }}][{{ data.spaces.lstrip() }}][{{ data.spaces.rstrip() }}][{{ 'xxaxx'.strip('x') }}]", None),
    ("m-join", "body", "{{ ', '.join(data.names) }} {{ '-'.join(data.slug.split('-')) }}", None),
    ("m-find", "body", "{{ data.slug.find('dc') }} {{ data.slug.find('zz') }} {{ data.slug.rfind('-') }} {{ data.slug.index('c') }} {{ data.slug.count('-') }} {{ data.name.find('DC') }}", None),
    ("m-is", "body", "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ '  '.isspace() }} {{ 'Abc'.istitle() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ ''.isdigit() }}", None),
    ("m-pad", "body", "[{{ data.slug.ljust(15, '.') }}][{{ data.slug.rjust(15) }}][{{ data.slug.center(16, '*') }}][{{ '42'.zfill(5) }}][{{ '-42'.zfill(5) }}]", None),
    ("m-partition", "body", "{{ object_type.partition('.') }} {{ data.slug.rpartition('-') }} {{ 'abc'.partition('x') }}", None),
    ("m-removeprefix", "body", "{{ data.slug.removeprefix('zurich-') }} {{ data.slug.removesuffix('-1') }}", None),
    ("m-splitlines", "body", "{{ data.comments.splitlines() }} {{ data.comments.splitlines(true) }}", None),
    ("m-list-methods", "body", "{{ data.numbers.count(1) }} {{ data.numbers.index(10) }} {{ data.names.index('carol') }} {{ (1, 2, 2).count(2) }}", None),
    ("m-float", "body", "{{ data.whole.is_integer() }} {{ data.latitude.is_integer() }}", None),
    ("m-chain", "body", "{{ data.name.lower().replace(' ', '_').split('_')[0] }}", None),
    ("m-casefold", "body", "{{ 'Straße'.casefold() }} {{ data.name.casefold() }}", None),
    ("m-get-nested", "body", "{{ data.custom_fields.get('nested', {}).get('a', {}).get('b') }}", None),
    ("m-dict-copy", "body", "{{ data.status.copy() }} {{ data.numbers.copy() }}", None),
    # --- bodies: list filters ---------------------------------------------------------
    ("list-join", "body", "{{ data.names|join(', ') }} {{ data.numbers|join }} {{ data.tags|join(' / ', attribute='name') }} {{ data.custom_fields|join(',') }}", None),
    ("list-map-join", "body", "{{ data.tags|map(attribute='slug')|join(',') }}", None),
    ("list-map-list", "body", "{{ data.tags|map(attribute='name')|list }}", None),
    ("list-map-filter", "body", "{{ data.names|map('upper')|join(' ') }} {{ data.numbers|map('string')|list }}", None),
    ("list-map-default", "body", "{{ data.tags|map(attribute='missing', default='?')|list }}", None),
    ("list-select", "body", "{{ data.numbers|select('odd')|list }} {{ data.numbers|reject('odd')|list }} {{ data.numbers|select('gt', 2)|list }}", None),
    ("list-selectattr", "body", "{{ data.devices|selectattr('role', 'equalto', 'switch')|map(attribute='name')|join(',') }} {{ data.devices|rejectattr('rack', 'eq', 1)|list|length }}", None),
    ("list-selectattr-truthy", "body", "{{ data.tags|selectattr('id')|list|length }}", None),
    ("list-sort", "body", "{{ data.numbers|sort }} {{ data.numbers|sort(reverse=true) }} {{ data.names|sort }} {{ data.names|sort(case_sensitive=true) }}", None),
    ("list-sort-attr", "body", "{{ data.devices|sort(attribute='name')|map(attribute='name')|list }} {{ data.devices|sort(attribute='rack,name')|map(attribute='name')|list }}", None),
    ("list-unique", "body", "{{ data.names|unique|list }} {{ data.names|unique(case_sensitive=true)|list }} {{ [1, 1.0, True, 2]|unique|list }}", None),
    ("list-min-max", "body", "{{ data.numbers|min }} {{ data.numbers|max }} {{ data.names|min }} {{ data.names|max }} {{ data.devices|max(attribute='rack') }} {{ data.empty_list|max }}", None),
    ("list-sum", "body", "{{ data.numbers|sum }} {{ data.floats|sum }} {{ data.devices|sum(attribute='rack') }} {{ data.numbers|sum(start=100) }}", None),
    ("list-length", "body", "{{ data.tags|length }} {{ data.custom_fields|length }} {{ data.empty_list|count }}", None),
    ("list-reverse-list", "body", "{{ data.numbers|reverse|list }} {{ data.name[::-1] }} {{ data.numbers|reverse|join(',') }}", None),
    ("list-first-last-dict", "body", "{{ data.custom_fields|first }} {{ data.custom_fields|last }} {{ data.empty_list|first }}", None),
    ("list-dictsort", "body", "{{ data.status|dictsort }} {{ data.custom_fields|dictsort(by='key', reverse=true)|first }}", None),
    ("list-dictsort-value", "body", "{{ {'b': 2, 'a': 3, 'C': 1}|dictsort(by='value') }} {{ {'b': 2, 'a': 3, 'C': 1}|dictsort }} {{ {'b': 2, 'a': 3, 'C': 1}|dictsort(true) }}", None),
    ("list-items", "body", "{{ data.status|items|list }}", None),
    ("list-batch-list", "body", "{{ data.numbers|batch(3)|list }}", None),
    ("list-slice-list", "body", "{{ data.numbers|slice(3, 'x')|list }}", None),
    ("list-index", "body", "{{ data.tags[0].name }} {{ data.tags[-1].slug }} {{ data.tags.0.id }} {{ data.numbers[1:3] }}", None),
    ("list-in", "body", "{{ 3 in data.numbers }} {{ 'alpha' in data.tags|map(attribute='slug') }} {{ {'slug': 'alpha'} in data.tags }}", None),
    ("list-concat", "body", "{{ data.numbers + [99] }} {{ (data.numbers + data.floats)|length }}", None),
    ("list-multiply", "body", "{{ '-' * 10 }} {{ [0] * 3 }}", None),
    ("list-abs-round", "body", "{{ -5|abs }} {{ data.latitude|round }} {{ data.latitude|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ data.latitude|round(1, 'floor') }} {{ data.latitude|round(1, 'ceil') }} {{ 42|round }} {{ 1234|round(-2) }}", None),
    # --- bodies: tests ------------------------------------------------------------------
    ("test-types", "body", "{{ data.id is number }} {{ data.enabled is number }} {{ data.enabled is boolean }} {{ data.id is integer }} {{ data.ratio is float }} {{ data.name is string }} {{ data.tags is sequence }} {{ data.status is mapping }} {{ data.status is sequence }}", None),
    ("test-defined", "body", "{{ missing is defined }} {{ data.region is defined }} {{ data.region is none }} {{ missing is undefined }}", None),
    ("test-numbers", "body", "{{ data.id is even }} {{ data.id is odd }} {{ data.id is divisibleby 7 }} {{ data.whole is odd }}", None),
    ("test-compare", "body", "{{ data.id is gt 40 }} {{ data.id is lessthan 40 }} {{ data.id is eq 42 }} {{ data.id is ne 42 }} {{ data.id is ge 42 }} {{ data.id is le 41 }}", None),
    ("test-string", "body", "{{ data.slug is lower }} {{ data.name is upper }} {{ 'ABC' is upper }}", None),
    ("test-in", "body", "{{ 'alpha' is in ['alpha'] }} {{ data.id is in data.numbers }}", None),
    ("test-iterable", "body", "{{ data.name is iterable }} {{ data.id is iterable }} {{ missing is iterable }}", None),
    ("test-escaped", "body", "{{ data.name is escaped }} {{ data.name|e is escaped }}", None),
    ("test-truthy", "body", "{{ data.enabled is true }} {{ 1 is true }} {{ data.disabled is false }}", None),
    ("test-filter-test", "body", "{{ 'upper' is filter }} {{ 'split' is filter }} {{ 'odd' is test }}", None),
    ("test-sameas-none", "body", "{{ data.region is sameas none }} {{ data.enabled is sameas true }}", None),
    ("test-callable", "body", "{% macro m() %}{% endmacro %}{{ m is callable }} {{ data is callable }}", None),
    # --- bodies: numbers and comparisons -------------------------------------------
    ("num-compare", "body", "{{ 1 == 1.0 }} {{ data.enabled == 1 }} {{ data.disabled == 0 }} {{ data.id > 40 and data.id < 50 }} {{ 1 < 2 < 3 }}", None),
    ("num-arith", "body", "{{ data.id + 1 }} {{ data.id - 50 }} {{ data.id * 2 }} {{ data.numbers|sum / data.numbers|length }}", None),
    ("num-floats", "body", "{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 2 / 3 * 3 }} {{ 1e300 * 10 }} {{ -0.0 }} {{ 100.0 }} {{ 1e16 }} {{ 0.00001 }}", None),
    ("num-big", "body", "{{ data.big + 1 }} {{ data.asn * 2 }} {{ data.negative - 1 }}", None),
    ("num-neg-mod", "body", "{{ -7 % 2 }} {{ 7.5 % 2 }} {{ -7.5 % 2 }} {{ 7 % 2.5 }} {{ -7 // 2.0 }}", None),
    ("num-bool-math", "body", "{{ true + 1 }} {{ data.enabled * 5 }}", None),
    ("num-not", "body", "{{ not data.enabled }} {{ not data.empty_list }} {{ data.empty_dict or 'empty' }} {{ data.name and 'has name' }}", None),
    ("num-ifexpr", "body", "{{ 'yes' if data.tags else 'no' }}|{{ 'x' if data.empty_list }}|", None),
    # --- bodies: whole documents ------------------------------------------------------
    ("doc-slack", "body", SLACK, None),
    ("doc-teams", "body", TEAMS, None),
    ("doc-json-manual", "body", '{"id": {{ data.id }}, "name": "{{ data.name }}", "enabled": {{ data.enabled|lower }}, "tags": {{ data.tags|map(attribute="slug")|list|tojson }}}', None),
    ("doc-json-tojson", "body", '{"event": {{ event|tojson }}, "data": {{ data.custom_fields|tojson }}, "user": {{ username|tojson }}}', None),
    ("doc-text", "body", "Site {{ data.name }} ({{ data.slug }}) was {{ event }}.\nStatus: {{ data.status.label }}\nTags: {{ data.tags|map(attribute='name')|join(', ') or 'none' }}\n", None),
    ("doc-markdown", "body", "## {{ data.display }}\n{% for tag in data.tags %}* {{ tag.name }} (`#{{ tag.color }}`)\n{% endfor %}{% if data.description %}> {{ data.description }}{% endif %}", None),
    ("doc-whitespace", "body", "{%- for t in data.tags -%}\n  {{ t.slug }}\n{%- endfor %}\n", None),
    ("doc-trailing-newline", "body", "line\n", None),
    ("doc-raw", "body", "{% raw %}{{ not rendered }}{% endraw %}", None),
    ("doc-comment", "body", "a{# a comment #}b", None),
    ("doc-macro", "body", "{% macro tag(t, sep=', ') %}<{{ t.name }}>{{ sep }}{% endmacro %}{% for t in data.tags %}{{ tag(t) }}{% endfor %}", None),
    ("doc-call-block", "body", "{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}{{ data.slug }}{% endcall %}", None),
    ("doc-filter-block", "body", "{% filter upper %}{{ data.name }} and {{ data.slug }}{% endfilter %}", None),
    ("doc-set-block", "body", "{% set greeting %}Hi {{ username }}{% endset %}{{ greeting|length }}:{{ greeting }}", None),
    ("doc-with", "body", "{% with t = data.tenant %}{{ t.name }}/{{ t.slug }}{% endwith %}", None),
    ("doc-dict-global", "body", "{{ dict(a=1, b=data.slug) }}", None),
    ("doc-nested-data", "body", "{{ data.custom_fields.nested.a.b[1].c }} {{ data.custom_fields.nested['a']['b'] }}", None),
    ("doc-items-key", "body", "{{ data['status']['value'] }} {{ data['tags'][0]['slug'] }}", None),
    ("doc-chained-filters", "body", "{{ data.name|lower|replace('ü', 'u')|replace(' ', '-')|truncate(8, true, '') }}", None),
    ("doc-loop-json", "body", "[{% for t in data.tags %}{\"slug\": {{ t.slug|tojson }}, \"n\": {{ loop.index }}}{{ ',' if not loop.last }}{% endfor %}]", None),
    ("doc-unicode-filters", "body", "{{ data.name|upper }} {{ data.name|length }} {{ data.name|wordcount }} {{ data.name[0] }} {{ data.custom_fields.emoji|length }}", None),
    ("doc-default-body-like", "body", "{{ {'event': event, 'timestamp': timestamp, 'model': object_type, 'data': data.status}|tojson }}", None),
    # --- bodies: more of what users write ---------------------------------------------
    ("more-first-dict", "body", "{{ data.tags|first }} {{ data.tags[0] }} {{ data.tags|last }}", None),
    ("more-center-default", "body", "[{{ data.slug|center }}]", None),
    ("more-percent-float", "body", "{{ '%.2f' % 1.005 }} {{ '%.3g' % data.latitude }} {{ '%s' % data.status }} {{ '%s' % (data.status,) }} {{ '%d%%' % 50 }}", None),
    ("more-truncate-short", "body", "{{ data.name|truncate(5) }}|{{ data.description|truncate(10) }}|{{ data.name|truncate(9, true) }}", None),
    ("more-dictsort-first", "body", "{{ data|dictsort|first }}", None),
    ("more-sort-dicts", "body", "{{ data.tags|sort(attribute='name')|map(attribute='name')|list }} {{ data.tags|sort(attribute='name', reverse=true)|map(attribute='name')|join(',') }}", None),
    ("more-sum-ids", "body", "{{ data.custom_fields.circuits|sum }} {{ data.tags|map(attribute='id')|sum }}", None),
    ("more-selectattr-in", "body", "{{ data.tags|selectattr('name', 'in', ['Alpha', 'beta'])|map(attribute='slug')|list }}", None),
    ("more-map-map", "body", "{{ data.tags|map(attribute='name')|map('lower')|join(' ') }} {{ data.numbers|map('abs')|list }} {{ data.floats|map('round')|list }}", None),
    ("more-sort-unique", "body", "{{ data.names|sort|unique|list }} {{ data.devices|map(attribute='role')|unique|list }}", None),
    ("more-undefined-compare", "body", "{{ missing == none }} {{ missing is none }} {{ data.region == none }} {{ data.region.name is defined }} {{ missing != 1 }}", None),
    ("more-length-compare", "body", "{{ data.tags|length > 2 }} {{ data.name|length == 11 }}", None),
    ("more-concat-numbers", "body", "{{ data.name ~ 1.5 }} {{ 1.5 ~ '' }} {{ data.id|string ~ 'x' }} {{ data.latitude|string|length }}", None),
    ("more-list-tuple-eq", "body", "{{ [1, 2] == [1, 2] }} {{ 'abc' < 'abd' }} {{ data.asn // 1000 }} {{ (1, 2) == (1, 2) }}", None),
    ("more-set-first", "body", "{% set first_tag = data.tags|first %}{{ first_tag.name }}/{{ first_tag['slug'] }}", None),
    ("more-select-ops", "body", "{{ data.numbers|select('>', 1)|list }} {{ data.numbers|reject('<=', 2)|list }} {{ data.names|select('equalto', 'bob')|list }}", None),
    ("more-json-escape", "body", "{{ data.description|replace('\"', '\\\"') }}|{{ data.comments|replace('\n', '\\n') }}", None),
    ("more-escape-length", "body", "{{ data.name|e|length }} {{ data.description|e|length }}", None),
    ("more-round-int", "body", "{{ data.custom_fields.cost|round(0)|int }} {{ (data.custom_fields.cost * 100)|round|int }} {{ data.tiny|round(8) }} {{ data.whole|int }} {{ data.huge|int }}", None),
    ("more-list-last", "body", "{{ data.tags|map(attribute='name')|list|last }} {{ data.tags|max(attribute='id') }} {{ data.floats|max }} {{ data.floats|min }}", None),
    ("more-status-list", "body", "{{ data.status|list }} {{ data.tags|groupby('color')|length }} {{ data.status|items|map('first')|list }}", None),
    ("more-dictsort-loop", "body", "{% for k, v in data.status|dictsort(reverse=true) %}{{ k }}={{ v }} {% endfor %}", None),
    ("more-timestamp", "body", "{{ timestamp|truncate(10, true, '') }} {{ timestamp[:19]|replace('T', ' ') }} {{ timestamp.split('+')[0] }}", None),
    ("more-indent-kw", "body", "{{ data.comments|indent(width=2) }}", None),
    ("more-float-conv", "body", "{{ data.big|float }} {{ data.big / 2 }} {{ 10 ** 20 }} {{ 2 ** 0.5 }} {{ data.negative|abs }} {{ data.latitude|abs }}", None),
    ("more-filesize-id", "body", "{{ data.id|filesizeformat }} {{ data.big|filesizeformat }} {{ 1536|filesizeformat(true) }}", None),
    ("more-or-default", "body", "{{ data.empty_list|join(',') or 'none' }} {{ data.facility or 'n/a' }} {{ data.region or data.tenant.name }}", None),
    ("more-whitespace", "body", "{% if data.enabled %}\n  enabled\n{% endif %}\n{% for t in data.tags %}\n- {{ t.slug }}\n{% endfor %}", None),
    ("more-string-escapes", "body", "{{ \"caf\\u00e9\" }} {{ 'tab\\there' }} {{ 'new\\nline' }}", None),
    ("more-ifexpr-defined", "body", "{{ 'x' if missing is defined else 'y' }} {{ data.id is not none }} {{ data.region is not none }}", None),
    ("more-in-string", "body", "{{ 'DC' in data.name }} {{ data.name[0:3]|upper }} {{ 'a,b'.split(',')|join(' ') }} {{ data.html|striptags|length }}", None),
    ("more-markup-plus", "body", "{{ (data.name|e) + '<' }} {{ '<' + (data.slug|e) }} {{ (data.slug|e) ~ '<' }}", None),
    ("more-tuple-plus", "body", "{{ (1, 2) + (3,) }} {{ data.numbers + [1] }} {{ [1] + [2] }} {{ 'a' + 'b' }} {{ 1 + 2.5 }}", None),
    ("more-neg", "body", "{{ -data.id }} {{ -data.ratio }} {{ - 5 }}", None),
    ("more-loop-vars", "body", "{% for t in data.tags %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.nextitem.slug if loop.nextitem else '-' }} {% endfor %}", None),
    ("more-cf-table", "body", "{% for name, value in data.custom_fields|dictsort %}{% if value is not none %}{{ '%-10s' % name }}{{ value }}\n{% endif %}{% endfor %}", None),
    ("more-tags-or", "body", "{{ data.tags|map(attribute='name')|join(', ') if data.tags else 'no tags' }}", None),
    ("more-numbers-sort-len", "body", "{{ data.numbers|sort|first }}..{{ data.numbers|sort|last }} ({{ data.numbers|length }})", None),
    ("more-slack-blocks", "body", "{\"blocks\": [{% for t in data.tags %}{\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": {{ ('*' ~ t.name ~ '* #' ~ t.color)|tojson }}}}{{ ', ' if not loop.last }}{% endfor %}]}", None),
    ("more-teams-facts", "body", "{\"facts\": {{ data.status|dictsort|tojson }}}", None),
    # --- bodies: names, macros and literals --------------------------------------------
    ("undef-defined-default", "body", "{{ missing is defined }}|{{ missing is undefined }}|{{ missing|default('x') }}|{{ missing|d }}|{{ missing|d('y', true) }}", None),
    ("undef-truth", "body", "{% if missing %}a{% else %}b{% endif %}{{ 'y' if missing else 'n' }}{{ not missing }}{{ missing or 'x' }}", None),
    ("undef-for", "body", "{% for x in missing %}{{ x }}{% else %}empty{% endfor %}", None),
    ("undef-model-printed", "body", "[{{ model }}]", None),
    ("scope-set-after", "body", "{{ x }}{% set x = 1 %}{{ x }}", None),
    ("scope-loop-set", "body", "{% for i in [1] %}{% set y = 2 %}{% endfor %}[{{ y }}]", None),
    ("scope-macro-late", "body", "{% macro m() %}{{ z }}{% endmacro %}{% set z = 3 %}{{ m() }}", None),
    ("macro-missing-arg", "body", "{% macro m(a, b=2) %}[{{ a }}{{ b }}]{% endmacro %}{{ m() }}{{ m(1) }}{{ m(1, b=3) }}{{ m(b=4, a=5) }}", None),
    ("macro-caller", "body", "{% macro m(a) %}{{ a }}{{ caller() }}{% endmacro %}{% call m(1) %}x{% endcall %}", None),
    ("const-guarded", "body", "{{ 1 / 0 if false else 2 }}{{ false and 1 // 0 }}", None),
    ("const-ok", "body", "{{ range(5)|sum }} {{ [3, 1]|sort }} {{ 2 ** 10 }} {{ '%05d' % 42 }} {{ 'a,b'.split(',') }}", None),
    ("method-arity-ok", "body", "{{ data.name.split() }}{{ data.name.split(' ', 1) }}{{ data.get('id') }}{{ data.get('x', 0) }}{{ data.name.startswith('Z', 0, 3) }}", None),
    ("mod-tuple-zero", "body", "{{ '%d items' % (0,) }}", None),
    # --- refused at load -----------------------------------------------------------------
    ("no-split-filter", "body", "{{ data.csv|split(',') }}", "there is no filter named 'split' in Jinja2 (NetBox would fail with \"No filter named 'split'\"); write x.split(',')"),
    ("no-zip-filter", "body", "{{ data.numbers|zip(data.names) }}", "there is no filter named 'zip' in Jinja2 (NetBox would fail with \"No filter named 'zip'\"); loop over one list and index the other with loop.index0"),
    ("no-lines-filter", "body", "{{ data.comments|lines }}", "there is no filter named 'lines' in Jinja2 (NetBox would fail with \"No filter named 'lines'\"); write x.splitlines()"),
    ("no-bool-filter", "body", "{{ 'true'|bool }}", "there is no filter named 'bool' in Jinja2 (NetBox would fail with \"No filter named 'bool'\"); write x is true, or (x == 'true')"),
    ("no-random", "body", "{{ data.tags|random }}", "the random filter is not offered: its output changes from one delivery to the next; pick an item with [0] or |first"),
    ("no-wordwrap", "body", "{{ data.words|wordwrap(20) }}", "the wordwrap filter is not offered: where it breaks lines follows Python's textwrap, which manage does not reproduce; write the line breaks yourself"),
    ("no-xmlattr", "body", "<a{{ {'href': data.url}|xmlattr }}>", "the xmlattr filter is not offered: webhook bodies are not HTML or XML, and its escaping and key checks are not reproduced; write the attributes yourself, with |e"),
    ("no-urlize", "body", "{{ 'see https://example.com'|urlize }}", "the urlize filter is not offered: which text it turns into links depends on Jinja2's URL patterns, which manage does not reproduce; write the <a href> yourself"),
    ("no-attr", "body", "{{ data|attr('name') }}", "the attr filter is not offered: it reads Python attributes, not keys, so on webhook data it gives nothing; write x['name'] or x.name"),
    ("no-env", "body", "{{ 'HOME'|env }}", "the env filter is not offered: NetBox's env filter reads the server's environment, which manage does not expose to templates"),
    ("no-startingwith", "body", "{{ data.name is startingwith 'Z' }}", "is startingwith: there is no test named 'startingwith' in Jinja2 (NetBox would fail with \"No test named 'startingwith'\"); write x.startswith('…')"),
    ("no-sameas-value", "body", "{{ data.id is sameas 42 }}", "data.id is sameas 42: sameas compares Python object identity, which only none, true and false have here; write == instead"),
    ("no-format-method", "body", "{{ '{} is {}'.format(data.name, event) }}", "'{} is {}'.format(…): Python's str.format is not supported; write \"{{ a }}-{{ b }}\", or \"%s-%s\" % (a, b), or the format filter"),
    ("no-append", "body", "{% set l = [] %}{% set _ = l.append(1) %}{{ l }}", "l.append(…) changes a list or dict in place, which templates here cannot do; build a new value instead (x + [y], {% set %}, or a filter)"),
    ("no-update", "body", "{% set d = {} %}{{ d.update({'a': 1}) }}{{ d }}", "d.update(…) changes a list or dict in place, which templates here cannot do; build a new value instead (x + [y], {% set %}, or a filter)"),
    ("no-encode", "body", "{{ data.name.encode('utf-8') }}", "data.name.encode(…): there is no Python method encode() on str, list or dict here; see the methods listed in the README"),
    ("no-dict-attr-items", "body", "{{ data.status.items }}", "data.status.items is Python's dict method items() in Jinja2, not the key 'items'; write data.status['items'] for the key, or data.status.items() to call it"),
    ("no-dict-attr-loop", "body", "{% for k, v in data.custom_fields.items %}{{ k }}{% endfor %}", "data.custom_fields.items is Python's dict method items() in Jinja2, not the key 'items'; write data.custom_fields['items'] for the key, or data.custom_fields.items() to call it"),
    ("no-dict-attr-values", "body", "{{ data.values }}", "data.values is Python's dict method values() in Jinja2, not the key 'values'; write data['values'] for the key, or data.values() to call it"),
    ("no-print-map", "body", "{{ data.tags|map(attribute='slug') }}", "data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which prints as \"<generator object …>\"; add |list"),
    ("no-print-select", "body", "{{ data.numbers|select('odd') }}", "data.numbers|select('odd'): |select gives a generator in Jinja2, which prints as \"<generator object …>\"; add |list"),
    ("no-reverse-text", "body", "{{ data.name|reverse }}", "data.name|reverse: |reverse gives an iterator in Jinja2 unless its input is text, which prints as \"<list_reverseiterator object …>\", and what the input is shows only at delivery; for text write x[::-1], for a list add |list"),
    ("no-print-reverse", "body", "{{ data.numbers|reverse }}", "data.numbers|reverse: |reverse gives an iterator in Jinja2 unless its input is text, which prints as \"<list_reverseiterator object …>\", and what the input is shows only at delivery; for text write x[::-1], for a list add |list"),
    ("no-length-map", "body", "{{ data.tags|map(attribute='slug')|length }}", "data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which has no length; add |list"),
    ("no-if-selectattr", "body", "{% if data.tags|selectattr('name', 'eq', 'x') %}found{% endif %}", "data.tags|selectattr('name', 'eq', 'x'): |selectattr gives a generator in Jinja2, which is always true; add |list"),
    ("no-set-generator", "body", "{% set slugs = data.tags|map(attribute='slug') %}{{ slugs|join(',') }}{{ slugs|join(',') }}", "data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which can be read only once; add |list"),
    ("no-index-generator", "body", "{{ (data.tags|map(attribute='slug'))[0] }}", "data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which cannot be indexed or asked for attributes; add |list"),
    ("no-concat-generator", "body", "{{ 'tags: ' ~ data.tags|map(attribute='slug') }}", "data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which prints as \"<generator object …>\"; add |list"),
    ("no-print-items", "body", "{{ data.status|items }}", "data.status|items: |items gives a generator in Jinja2, which prints as \"<generator object …>\"; add |list"),
    ("no-print-range", "body", "{{ range(3) }}", "range(3) prints as Python's range object (\"range(0, 3)\") in Jinja2, not as a list; add |list, or |join(', ')"),
    ("no-tojson-unique", "body", "{{ data.names|unique|tojson }}", "data.names|unique: |unique gives a generator in Jinja2, which this filter does not read as a list; add |list"),
    ("no-include", "body", "{% include 'other.j2' %}", "{% include %}, {% import %} and {% extends %} need a template loader, which NetBox's environment does not have; write the template out in full"),
    ("no-import", "body", "{% import 'macros.j2' as m %}{{ m.x() }}", "{% include %}, {% import %} and {% extends %} need a template loader, which NetBox's environment does not have; write the template out in full; m.x(…): there is no Python method x() on str, list or dict here; see the methods listed in the README"),
    ("no-do", "body", "{% set l = [] %}{% do l.append(1) %}{{ l }}", "{% do %} needs Jinja2's do extension, which NetBox does not load; use {% set _ = … %}"),
    ("no-autoescape", "body", "{% autoescape true %}{{ data.description }}{% endautoescape %}", "{% autoescape %} is not supported: webhook templates are not HTML; apply |e where text needs escaping"),
    ("no-lipsum", "body", "{{ lipsum(1) }}", "Jinja2's lipsum() is not offered; write the text yourself (loop.cycle(…) alternates values)"),
    ("no-undefined-function", "body", "{{ now() }}", "now() calls something that is not a function here (Jinja2 fails with \"'now' is undefined\"); the functions are range, dict and namespace, and macros the template defines"),
    ("no-debug", "body", "{{ debug() }}", "debug() calls something that is not a function here (Jinja2 fails with \"'debug' is undefined\"); the functions are range, dict and namespace, and macros the template defines"),
    ("no-reserved", "body", "{{ __manage_concat(1, 2) }}", "names starting with __manage_ are reserved; rename them"),
    ("no-url-split-filter", "url", "https://hooks.example.com/{{ object_type|split('.')|first }}", "there is no filter named 'split' in Jinja2 (NetBox would fail with \"No filter named 'split'\"); write x.split(',')"),
    ("no-hdr-format", "headers", "X-Id: {{ '{:05d}'.format(data.id) }}", "'{:05d}'.format(…): Python's str.format is not supported; write \"{{ a }}-{{ b }}\", or \"%s-%s\" % (a, b), or the format filter"),
    ("syntax-error", "body", "{{ data.name ", "invalid Jinja2 template: syntax error: unexpected end of input, expected end of variable block (in body_template:1)"),
    ("syntax-break", "body", "{% for t in data.tags %}{% break %}{% endfor %}", "invalid Jinja2 template: syntax error: unknown statement break (in body_template:1)"),
    ("fail-undefined-attr", "body", "{{ nothing.here }}", "'nothing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (nothing is defined), or write nothing|default(…)"),
    ("fail-mod-zero", "body", "{{ data.id % 0 }}", "data.id % 0: % by zero fails at delivery for a number (ZeroDivisionError); to %-format text with a 0, write data.id % (0,)"),
    ("fail-format-mixed", "body", "{{ '%s'|format(1, x=2) }}", "'%s'|format(1, x=2) always fails at delivery (FilterArgumentError: can't handle positional and keyword arguments at the same time); it is made only of literals, so write the value it should give instead"),
    ("fail-sort-mixed", "body", "{{ [1, 'a']|sort }}", "[1, 'a']|sort always fails at delivery (TypeError: '<' not supported between instances of 'str' and 'int'); it is made only of literals, so write the value it should give instead"),
    ("fail-tojson-undefined", "body", "{{ missing|tojson }}", "'missing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (missing is defined), or write missing|default(…)"),
    ("fail-range-big", "body", "{{ range(1000000)|length }}", "range(1000000)|length always fails at delivery (OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).); it is made only of literals, so write the value it should give instead"),
    ("fail-undefined-plus", "body", "{{ missing + 1 }}", "'missing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (missing is defined), or write missing|default(…)"),
    ("fail-list-plus-tuple", "body", "{{ [1] + (2,) }}", "[1] + (2,) always fails at delivery (TypeError: can only concatenate list (not \"tuple\") to list); it is made only of literals, so write the value it should give instead"),
    ("fail-method-missing-arg", "body", "{{ data.name.startswith() }}", "data.name.startswith(…): startswith() takes 1 to 3 arguments in Python, not 0 (Jinja2 fails with TypeError); pass 1 to 3 arguments"),
    ("fail-get-too-many", "body", "{{ data.get('a', 'b', 'c') }}", "data.get(…): get() takes 1 or 2 arguments in Python, not 3 (Jinja2 fails with TypeError); pass 1 or 2 arguments"),
    ("fail-power-overflow", "body", "{{ 0 ** -1 }}", "0 ** -1 always fails at delivery (ZeroDivisionError: 0.0 cannot be raised to a negative power); it is made only of literals, so write the value it should give instead"),
    ("no-split-too-many", "body", "{{ data.name.split(',', 1, 2) }}", "data.name.split(…): split() takes 0 to 2 arguments in Python, not 3 (Jinja2 fails with TypeError); pass 0 to 2 arguments"),
    ("no-upper-argument", "body", "{{ data.name.upper(1) }}", "data.name.upper(…): upper() takes no arguments in Python, not 1 (Jinja2 fails with TypeError); pass no arguments"),
    ("no-macro-too-many", "body", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", "m(…) passes 2 arguments to the macro m, which takes 1 (Jinja2 fails with \"macro 'm' takes not more than 1 argument(s)\"); pass fewer, or add parameters to the macro"),
    ("no-macro-unknown-kwarg", "body", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}", "m(…, b=…): the macro m has no parameter b left to set by name (Jinja2 fails with \"macro 'm' takes no keyword argument 'b'\"); use the macro's parameter names, each once"),
    ("no-macro-kwarg-twice", "body", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}", "m(…, a=…): the macro m has no parameter a left to set by name (Jinja2 fails with \"macro 'm' takes no keyword argument 'a'\"); use the macro's parameter names, each once"),
    ("no-macro-varargs", "body", "{% macro m() %}{{ varargs|join(',') }}{% endmacro %}{{ m(1, 2) }}", "varargs in a macro: Jinja2 collects extra arguments there, which is not supported here; name every parameter in the macro's signature (with a default, if it may be left out); m(…) passes 2 arguments to the macro m, which takes 0 (Jinja2 fails with \"macro 'm' takes not more than 0 argument(s)\"); pass fewer, or add parameters to the macro"),
    ("no-macro-kwargs", "body", "{% macro m() %}{{ kwargs }}{% endmacro %}{{ m(a=1) }}", "kwargs in a macro: Jinja2 collects extra arguments there, which is not supported here; name every parameter in the macro's signature (with a default, if it may be left out); m(…, a=…): the macro m has no parameter a left to set by name (Jinja2 fails with \"macro 'm' takes no keyword argument 'a'\"); use the macro's parameter names, each once"),
    ("no-undefined-set", "body", "{% set x = missing %}{{ x.y }}", "'missing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (missing is defined), or write missing|default(…)"),
    ("no-undefined-method", "body", "{{ missing.upper() }}", "'missing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (missing is defined), or write missing|default(…)"),
    ("no-undefined-index", "body", "{{ missing[0] }}", "'missing' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; check the spelling, or test it first (missing is defined), or write missing|default(…)"),
    ("no-model-attr", "body", "{{ model.name }}", "'model' is not defined, and is used where an undefined name fails at delivery or may differ from Jinja2: a template sees event, timestamp, object_type, username, request_id, data, request, snapshots, context, the functions range, dict and namespace, and the names it sets itself; NetBox's model is object_type here; check the spelling, or test it first (model is defined), or write model|default(…)"),
    ("no-lipsum-defined", "body", "{{ lipsum is defined }}", "lipsum is Jinja2's global lipsum, which is not offered here and prints differently; write the text yourself"),
    ("no-self", "body", "{{ self }}", "self is Jinja2's reference to the template's blocks, which is not offered here and prints differently; write the block's content where it is needed, or a macro"),
    ("no-cycler", "body", "{{ cycler }}", "cycler is Jinja2's global cycler, which is not offered here and prints differently; in a loop, loop.cycle(…) alternates values"),
    ("no-joiner", "body", "{{ joiner }}", "joiner is Jinja2's global joiner, which is not offered here and prints differently; in a loop, write the separator with {% if not loop.first %}"),
    ("no-range-bare", "body", "{{ range }}", "range without a call is Jinja2's Python function object, which prints differently here; call it: range(…)"),
    ("no-truncate-negative", "body", "{{ 'a'|truncate(-1) }}", "'a'|truncate(-1) always fails at delivery (AssertionError: expected length >= len(end)); it is made only of literals, so write the value it should give instead"),
    ("no-div-zero-literal", "body", "{{ data.id / 0 }}", "data.id / 0 divides by zero, which fails at delivery whatever data.id is (ZeroDivisionError); divide by another number"),
    ("no-floordiv-zero-float", "body", "{{ data.id // 0.0 }}", "data.id // 0.0 divides by zero, which fails at delivery whatever data.id is (ZeroDivisionError); divide by another number"),
    ("no-const-fail-in-loop", "body", "{% for t in data.tags %}{{ t.name ~ (1 // 0) }}{% endfor %}", "1 // 0 always fails at delivery (ZeroDivisionError: integer division or modulo by zero); it is made only of literals, so write the value it should give instead"),
    # --- Jinja2 itself fails: so do we -----------------------------------------------------
    ("fail-div-zero", "body", "{{ data.id / data.zero }}", None),
    ("fail-str-plus-int", "body", "{{ data.name + data.id }}", None),
    ("fail-percent-args", "body", "{{ '%s %s' % data.name }}", None),
    ("fail-percent-type", "body", "{{ '%d' % data.name }}", None),
    ("fail-method-on-int", "body", "{{ data.id.upper() }}", None),
    ("fail-length-int", "body", "{{ data.id|length }}", None),
    ("fail-index-missing", "body", "{{ data.numbers.index(99) }}", None),
    ("fail-join-ints", "body", "{{ ', '.join(data.numbers) }}", None),
    ("fail-dictsort-list", "body", "{{ data.numbers|dictsort }}", None),
    ("fail-items-list", "body", "{{ data.numbers|items|list }}", None),
    ("fail-indent-int", "body", "{{ data.id|indent }}", None),
    ("fail-abs-str", "body", "{{ data.name|abs }}", None),
    ("fail-round-str", "body", "{{ data.name|round }}", None),
    ("fail-str-plus-none", "body", "{{ 'a' + data.region }}", None),
]


def header_safe(value):
    # NetBox's filter (extras/webhooks.py): the text without [\x00-\x1f\x7f].
    return re.sub(r"[\x00-\x1f\x7f]", "", str(value))


def netbox_env_filter(value):
    # NetBox's DEFAULT_JINJA2_FILTERS['env'] reads os.environ for allowed names.
    return ""


def render(field, source):
    env = SandboxedEnvironment(loader=BaseLoader())
    env.filters["env"] = netbox_env_filter
    if field == "headers":
        env.filters["header_safe"] = header_safe
    return env.from_string(source).render(**CONTEXT)


def main():
    os.makedirs(OUT, exist_ok=True)
    seen = set()
    rows = []
    for ident, field, source, reason in ROWS:
        assert ident not in seen, ident
        seen.add(ident)
        try:
            expected, error = render(field, source), None
        except Exception as e:  # Jinja2's own failure, recorded as text
            expected, error = None, "%s: %s" % (type(e).__name__, e)
        if expected is not None:
            # Objects Jinja2 prints with their address (generators, bound methods): keep the
            # file the same from one run to the next.
            expected = re.sub(r" at 0x[0-9a-f]+>", " at 0x…>", expected)
        if reason is not None:
            outcome = "refused"
        elif error is not None:
            outcome = "fails"
        else:
            outcome = "same"
        rows.append({
            "id": ident,
            "field": field,
            "template": source,
            "outcome": outcome,
            "expected": expected,
            "jinja2_error": error,
            "reason": reason,
        })
    with open(os.path.join(OUT, "templates.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "templates_context.json"), "w", encoding="utf-8") as f:
        json.dump(CONTEXT, f, ensure_ascii=False, indent=1)
        f.write("\n")
    counts = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    print("%d rows: %s" % (len(rows), ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))),
          file=sys.stderr)


if __name__ == "__main__":
    main()
