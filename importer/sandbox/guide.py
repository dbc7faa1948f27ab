"""The page at GET /docs: the endpoint, the key, curl examples and the sandbox's own endpoints.

Shows the API page's sample key when the sandbox accepts it (it is public); keys given
with --api-key are the user's and are never put on a page.
"""

from __future__ import annotations

from importer.sandbox.config import ENDPOINT_PATH, SAMPLE_API_KEY, SandboxConfig
from importer.sandbox.layout import document, html_text, table
from importer.sandbox.overview import settings_line

_OWN_ENDPOINTS = (
    ("GET", "/", "this sandbox's page: leads and latest requests, refreshed every few seconds"),
    ("GET", "/docs", "this page"),
    ("GET", "/_sandbox/leads", "every stored lead as JSON, oldest first"),
    ("GET", "/_sandbox/requests", "every logged request as JSON, oldest first"),
    ("POST", "/_sandbox/reset", "forget leads, requests and rate-limit history"),
)
_ANSWERS = (
    ("200", '<code>"result": "success"</code>, <code>data.msg</code> "Lead Created" or '
            '"Lead Updated" (same <code>integration_record_id</code>: same lead), '
            "<code>data.lead</code> as on Enerflo's API page"),
    ("200", '<code>"result": "error"</code>: the lead broke a rule; <code>data.msg</code> '
            "says which, <code>data.errors</code> names each field"),
    ("401", "the api key is missing or not one this sandbox accepts"),
    ("429", "over the rate limit: an HTML body, <code>retry-after</code> and "
            "<code>x-ratelimit-*</code> headers, as the real API sends"),
)  # fmt: skip


def docs_page(base_url: str, config: SandboxConfig) -> bytes:
    """The whole page; `base_url` is this sandbox's URL as the browser reached it."""
    endpoint = base_url + ENDPOINT_PATH
    key = SAMPLE_API_KEY if SAMPLE_API_KEY in config.api_keys else "$ENERFLO_API_KEY"
    body = "\n".join(
        (
            "<h1>How to post to the sandbox</h1>",
            '<section class="panel">',
            '<div class="label">Lead endpoint (GET or POST)</div>',
            f'<p><code class="url">{html_text(endpoint)}</code></p>',
            "<p>Any partner name works in place of <code>partner</code>.</p>",
            f'<p class="muted">{html_text(settings_line(config))}</p>',
            f"<p>{_key_text(config)}</p>",
            "</section>",
            "<h2>POST a JSON body</h2>",
            "<p>Fields go inside a <code>lead</code> object; <code>survey_data</code> and "
            "<code>appointment</code> sit beside it.</p>",
            f"<pre>{html_text(_post_example(endpoint, key))}</pre>",
            "<h2>GET with query parameters</h2>",
            "<p>The key may also travel as <code>api_key</code> in the query "
            "(it is never logged or shown).</p>",
            f"<pre>{html_text(_get_example(endpoint, key))}</pre>",
            "<h2>What comes back</h2>",
            table("answers", (("HTTP", "code"), ("Meaning", "")), _ANSWERS),
            "<h2>The sandbox's own endpoints</h2>",
            "<p>No key needed. <code>curl -X POST "
            f"{html_text(base_url)}/_sandbox/reset</code> starts over.</p>",
            table(
                "endpoints",
                (("Method", ""), ("Path", ""), ("What", "")),
                ((method, _path_cell(method, path), what) for method, path, what in _OWN_ENDPOINTS),
            ),
            "<h2>From the importer</h2>",
            f"<pre>{html_text(_importer_example(base_url, key))}</pre>",
        )
    )
    return document("Enerflo sandbox: how to post", body, current="/docs")


def _key_text(config: SandboxConfig) -> str:
    where = "in the <code>api-key</code> header or the <code>api_key</code> query parameter"
    own = sum(1 for key in config.api_keys if key != SAMPLE_API_KEY)
    own_text = (
        f"{own} key{'s' if own > 1 else ''} given with <code>--api-key</code> "
        "(printed when the sandbox started; not shown on a page)"
    )
    if SAMPLE_API_KEY not in config.api_keys:
        accepted = own_text
    else:
        accepted = f"<code>{SAMPLE_API_KEY}</code>, the sample key from Enerflo's API page"
        if own:
            accepted += f", and {own_text}"
    return f"The key goes {where}. Accepted: {accepted}. Each key is a company of its own."


def _post_example(endpoint: str, key: str) -> str:
    return (
        f"curl -X POST '{endpoint}' \\\n"
        f'  -H "api-key: {key}" -H "Content-Type: application/json" \\\n'
        '  -d \'{"lead": {"integration_record_id": "demo-1",\n'
        '               "full_name": "Ferris Bueller",\n'
        '               "fullAddress": "2214 N Honeydew Dr, Saratoga Springs, UT 84045",\n'
        '               "mobile": "8015554444", "email": "custy@enerflo.io"}}\''
    )


def _get_example(endpoint: str, key: str) -> str:
    return (
        f"curl -G '{endpoint}' \\\n"
        f'  --data-urlencode "api_key={key}" \\\n'
        "  --data-urlencode 'integration_record_id=demo-2' \\\n"
        "  --data-urlencode 'full_name=Cameron Frye' \\\n"
        "  --data-urlencode 'fullAddress=1180 W 400 N, Orem, UT 84057'"
    )


def _importer_example(base_url: str, key: str) -> str:
    return (
        f'ENERFLO_API_KEY="{key}" enerflo-import send leads.xlsx -m mapping.yaml \\\n'
        f"  --base-url {base_url}"
    )


def _path_cell(method: str, path: str) -> str:
    """GET paths are links; a link to a POST-only path would only meet a 404."""
    if method == "GET":
        return f'<a href="{path}"><code>{path}</code></a>'
    return f"<code>{path}</code>"
