"""The API docs (Swagger UI and ReDoc) load every script, style, font and image from TideGrid itself."""

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_api_docs_pages_load_nothing_from_outside(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    urls = _links(html)
    assert any(url.endswith(".js") for url in urls)  # the UI's script is there, served by us
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        assert client.get(url).status_code == 200, url  # and it is really served
    # nothing outside in inline styles/scripts either (web fonts, @import, CDN scripts)
    assert not re.findall(r"https?://(?!127\.0\.0\.1|localhost|testserver)", html.replace("http://www.w3.org", ""))
