"""`digest serve` on a real server thread: only the site's regular files, its own 404, no traceback"""

import http.client
import os
import threading

import pytest
from conftest import hf_files

from digest.config import Config, SiteSettings
from digest.pipeline import import_files
from digest.publish.serve import serve
from digest.publish.site import build_site
from digest.store import Store


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A site built from two real fixture days, with planted symlinks out of it"""
    root = tmp_path_factory.mktemp("serve")
    store = Store(root / "data")
    assert all(o.error is None for o in import_files(store, hf_files()[-2:]))
    out = root / "site"
    build_site(Config(data_dir=store.root, site=SiteSettings(search=False)), out)
    (out / "passwd.html").symlink_to("/etc/passwd")
    (out / "etc").symlink_to("/etc")
    (out / ".secret").write_text("hidden")
    (out / ".digest-build.json").write_text("hidden")  # an earlier version's state file
    (out / ".digest-build.sqlite-journal").write_text("hidden")  # as a build stopped mid-commit leaves it
    assert (out / ".digest-build.sqlite").is_file()
    return out


@pytest.fixture(scope="module")
def get(site):
    server = serve(site, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]

    def request(path, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        # skip_host etc. keep the path byte for byte as given (http.client checks only for spaces)
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, response.getheader("Content-Type"), body

    yield request
    server.shutdown()
    server.server_close()


def test_serves_the_sites_files(site, get):
    status, kind, body = get("/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert body == (site / "index.html").read_bytes()
    day = sorted((site / "day").glob("*.html"))[-1]
    assert get(f"/day/{day.name}")[2] == day.read_bytes()
    assert get("/feeds/daily.atom")[:2] == (200, "application/atom+xml")
    assert get("/style.css?v=1")[2] == (site / "style.css").read_bytes()
    assert get("/day")[0] == 404  # a folder without an index page is not listed


def test_missing_paths_get_the_sites_own_404_page(site, get):
    status, kind, body = get("/no/such/page.html")
    assert status == 404 and body == (site / "404.html").read_bytes() and kind.startswith("text/html")
    assert get("/no-such.html", method="HEAD")[0] == 404


@pytest.mark.parametrize("path", ["/passwd.html", "/etc/passwd", "/etc/", "/.digest-build.sqlite", "/.digest-build.sqlite-journal",
                                  "/.digest-build.json", "/.secret",
                                  "/day/", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/day/..%2f..%2f"])
def test_no_symlink_listing_build_state_or_dot_file_is_served(site, get, path):
    status, _, body = get(path)
    assert status == 404
    assert b"root:" not in body and b"hidden" not in body and b"Directory listing" not in body
    assert body == (site / "404.html").read_bytes()


@pytest.mark.parametrize("path", ["/%00", "/index.html%00.txt", "/%ff%fe", "/a%0d%0aSet-Cookie:x", "/" + "a" * 5000])
def test_bad_requests_get_400_without_a_traceback(get, path, capfd):
    status, _, body = get(path)
    assert status in (400, 414)
    assert get("/")[0] == 200  # still serving
    err = capfd.readouterr().err
    assert "Traceback" not in err and err == ""


def test_a_folder_without_its_slash_redirects_to_its_index(site, get, tmp_path):
    os.makedirs(site / "sub", exist_ok=True)
    (site / "sub" / "index.html").write_text("<p>sub</p>")
    status, _, _ = get("/sub")
    assert status == 301
    assert get("/sub/")[2] == b"<p>sub</p>"
