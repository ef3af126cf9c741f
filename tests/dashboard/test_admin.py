"""The admin's job change page stays small however many trials the job has."""

from __future__ import annotations


def test_the_change_page_of_a_large_job_shows_a_bounded_trial_list_and_links_the_job_page(
        client, staff, seeded):
    job = seeded(300)
    client.force_login(staff)
    resp = client.get(f"/admin/hpdash/job/{job.pk}/change/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert html.count('href="/projects/demo/jobs/demo/trials/') == 20  # the latest 20
    assert "/projects/demo/jobs/demo/trials/300/" in html
    assert "/projects/demo/jobs/demo/trials/280/" not in html
    assert 'id="job-page-link"' in html and 'href="/projects/demo/jobs/demo/"' in html
    assert "SUCCEEDED 300" in html
    assert len(resp.content) < 200_000


def test_the_change_page_shows_metrics_with_significant_digits_and_full_precision_on_hover(
        client, staff, seeded):
    job = seeded(3)
    trial = job.trials.get(trial_id=3)
    trial.final_value = 0.9851851851851852
    trial.save()
    client.force_login(staff)
    html = client.get(f"/admin/hpdash/job/{job.pk}/change/").content.decode()
    assert 'title="0.9851851851851852">0.9852<' in html


def test_deleting_a_job_counts_its_trials_instead_of_listing_each(client, staff, seeded):
    job = seeded(50)
    client.force_login(staff)
    html = client.get(f"/admin/hpdash/job/{job.pk}/delete/").content.decode()
    assert "their 50 trials and 150 measurements" in html
    assert html.count("<li>") < 20
