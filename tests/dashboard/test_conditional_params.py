"""A trial without one of the job's parameters (an inactive conditional parameter, which
Vertex leaves out) shows it as empty everywhere the dashboard shows parameters."""

from __future__ import annotations

import json
import re

from hpdash.core.states import TrialState

PAGE = "/projects/demo/jobs/demo/"


def test_an_inactive_parameter_is_an_empty_cell_and_no_point(client, staff, seeded):
    job = seeded(12)
    inactive = list(job.trials.filter(state=TrialState.SUCCEEDED).order_by("trial_id")[:4])
    for t in inactive:
        t.params.pop("dropout")
        t.save(update_fields=["params"])
    client.force_login(staff)
    html = client.get(PAGE, {"sort": "trial"}).content.decode()
    names = [p.name for p in job.spec.params]
    column = names.index("dropout")
    rows = dict(re.findall(r'<tr class="trial-row[^"]*" data-trial="(\d+)">(.*?)</tr>', html,
                           re.S))
    for t in inactive:
        cells = re.findall(r'<td class="param num" title="([^"]*)">([^<]*)</td>',
                           rows[str(t.trial_id)])
        assert cells[column] == ("", "")
        assert all(v for v, _ in cells[:column] + cells[column + 1:])
    figures = json.loads(client.get(PAGE, {"format": "figures"}).content)
    dropout_slice = figures["slices"][column]["data"][0]
    plotted = [x for x in dropout_slice["x"] if x is not None]
    assert len(plotted) == len(dropout_slice["x"]) - len(inactive)
    contour = client.get(PAGE, {"format": "contour", "x": "dropout", "y": "learning_rate"})
    assert contour.status_code == 200
    trial_page = client.get(f"{PAGE}trials/{inactive[0].trial_id}/").content.decode()
    assert "<th>learning_rate</th>" in trial_page and "<th>dropout</th>" not in trial_page
    compare = client.get(PAGE + "compare", {"trials": [inactive[0].trial_id, 12]})
    assert compare.status_code == 200
    assert re.search(r"<th>dropout</th><td[^>]*></td>", compare.content.decode())
