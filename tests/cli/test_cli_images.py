"""``hpdash images``: each worker machine's images as a table (or JSON), a machine that runs no
containers saying why, from the server's ``:hpdashImages`` with the project and the token."""

from __future__ import annotations

import io

from cli_stub import StubServer

from hpdash.cli.main import main

MACHINES = {"machines": [
    {"name": "gpu-1", "live": True, "runsContainers": True, "problem": "",
     "pullFrom": ["gcr.io"], "reportTime": "2026-12-07T01:00:00+00:00", "images": [
         {"name": "gcr.io/p/trainer:v1", "id": "3e1a8dada93c", "size": 50663017},
         {"name": "localhost/hpdash/python:3.11", "id": "a3ff575b5fe7", "size": None}]},
    {"name": "old-box", "live": False, "runsContainers": False,
     "problem": "podman is not installed on this machine", "pullFrom": [], "reportTime": "",
     "images": []}]}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_images_lists_each_machines_images_and_why_a_machine_runs_none(stub: StubServer):
    stub.responder = lambda seen: (200, MACHINES)
    code, out, err = run("--url", stub.url, "--project", "proj", "images")
    assert code == 0, err
    assert [(s.method, s.path) for s in stub.requests] == [("GET", "/v1/projects/proj"
                                                                   ":hpdashImages")]
    lines = out.splitlines()
    assert lines[0].split() == ["MACHINE", "IMAGE", "ID", "SIZE", "REPORTED"]
    assert lines[1].split()[:5] == ["gpu-1", "gcr.io/p/trainer:v1", "3e1a8dada93c", "50.7",
                                    "MB"]
    assert lines[2].split()[:3] == ["gpu-1", "localhost/hpdash/python:3.11", "a3ff575b5fe7"]
    assert lines[3] == "gpu-1 pulls missing images from gcr.io"
    assert lines[4] == ("old-box (no running worker) runs no containers: podman is not "
                        "installed on this machine")


def test_images_as_json_is_the_servers_list(stub: StubServer):
    stub.responder = lambda seen: (200, MACHINES)
    code, out, _ = run("--url", stub.url, "images", "--format", "json")
    assert code == 0
    assert '"name": "gcr.io/p/trainer:v1"' in out


def test_no_machine_yet_says_so_and_an_api_error_names_the_command(stub: StubServer):
    stub.responder = lambda seen: (200, {"machines": []})
    code, out, err = run("--url", stub.url, "images")
    assert (code, out) == (0, "")
    assert "No worker machine has reported yet" in err
    stub.responder = lambda seen: (401, {"error": {"code": 401, "status": "UNAUTHENTICATED",
                                                   "message": "Request is missing a token."}})
    code, _, err = run("--url", stub.url, "images")
    assert code == 1
    assert err.startswith("ERROR: (hpdash.images) UNAUTHENTICATED: Request is missing a token.")
