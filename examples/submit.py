"""Submit a gcloud-style hptuning config to hpdash and (with --wait) print the result.

Uses only the standard library and PyYAML (installed with hpdash):

    python examples/submit.py --job-id digits_1 \
        --package-path examples/mlp_digits/trainer examples/mlp_digits/hptuning_config.yaml --wait
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import yaml


def call(url: str, token: str, method: str = "GET", body: object = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        sys.exit(f"{exc.code}: {exc.read().decode()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("config")
    ap.add_argument("--job-id", required=True)
    ap.add_argument("--url", default=os.environ.get("HPDASH_URL", "http://127.0.0.1:8000"))
    ap.add_argument("--token", default=os.environ.get("HPDASH_TOKEN", ""),
                    help="API token (default: $HPDASH_TOKEN; prefer that: a command line is "
                         "readable by every local user)")
    ap.add_argument("--project", default="local")
    ap.add_argument("--package-path", help="directory of the trainer package (sets packageUris)")
    ap.add_argument("--wait", action="store_true", help="poll until the job finishes")
    a = ap.parse_args()
    with open(a.config) as f:
        job = yaml.safe_load(f)
    job["jobId"] = a.job_id
    if a.package_path:
        job["trainingInput"]["packageUris"] = [os.path.abspath(a.package_path)]
    base = f"{a.url.rstrip('/')}/v1/projects/{a.project}/jobs"
    created = call(base, a.token, "POST", job)
    print(f"created {created['jobId']}: {created['state']}")
    while a.wait:
        job = call(f"{base}/{a.job_id}", a.token)
        out = job.get("trainingOutput", {})
        done = sum(1 for t in out.get("trials", []) if "endTime" in t)
        print(f"  {job['state']}: {done} trials finished", flush=True)
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            print(json.dumps(job, indent=2))
            break
        time.sleep(2)


if __name__ == "__main__":
    main()
