"""The job page's filters and sort in the URL's query string: read, checked key by key, and
written back for the page's links."""

from __future__ import annotations

from hpdash.core.spec import parse_job
from hpdash.core.states import TrialState
from hpdash.dashboard.trial_table import parse_filter
from hpdash.selectors.trial_table import ParamCondition, TrialFilter, TrialSort

SPEC = parse_job({"jobId": "j", "trainingInput": {"pythonModule": "m", "hyperparameters": {
    "goal": "MAXIMIZE", "maxTrials": 10, "params": [
        {"parameterName": "hidden-units", "type": "INTEGER", "minValue": 8, "maxValue": 64},
        {"parameterName": "learning_rate", "type": "DOUBLE", "minValue": 0.001, "maxValue": 1,
         "scaleType": "UNIT_LOG_SCALE"},
        {"parameterName": "opt", "type": "CATEGORICAL", "categoricalValues": ["adam", "sgd"]}]}}}
                ).definition.hyperparameters


def test_the_query_string_becomes_typed_conditions_and_a_sort():
    flt = parse_filter({"state": "SUCCEEDED", "metric__gte": "0.9", "step__lte": "80.0",
                        "param.hidden-units": "8", "param.learning_rate__lte": "0.01",
                        "param.opt": "sgd", "sort": "-param.learning_rate", "page": "2",
                        "format": "live"}, SPEC)
    assert not flt.errors
    assert flt.where == TrialFilter(
        state=TrialState.SUCCEEDED, metric_gte=0.9, step_lte=80, params=(
            ParamCondition("hidden-units", "eq", 8),
            ParamCondition("learning_rate", "lte", 0.01), ParamCondition("opt", "eq", "sgd")))
    assert flt.order == TrialSort("param.learning_rate", descending=True, param="learning_rate")
    assert "page" not in flt.active and "format" not in flt.active


def test_no_sort_means_the_selector_default_best_first():
    assert parse_filter({}, SPEC).order is None


def test_bad_filters_are_reported_by_key_not_raised():
    flt = parse_filter({"metric__gte": "abc", "param.nope": "1", "param.opt__gte": "1",
                        "state": "DONE", "sort": "color", "bogus": "1", "step__gte": "inf"},
                       SPEC)
    assert flt.errors == {
        "metric__gte": "'abc' is not a number", "param.nope": "no parameter 'nope' in this job",
        "param.opt__gte": "opt is categorical: use param.opt=<value>",
        "state": "unknown state 'DONE'", "sort": "cannot sort by 'color'",
        "bogus": "unknown filter 'bogus'", "step__gte": "'inf' is not a finite number"}
    assert flt.where == TrialFilter() and flt.order is None


def test_a_bare_parameter_name_is_not_a_sort_key():
    assert parse_filter({"sort": "opt"}, SPEC).errors == {"sort": "cannot sort by 'opt'"}


def test_the_filter_round_trips_through_the_query_string():
    flt = parse_filter({"param.opt": "adam", "metric__gte": "0.9", "sort": "-step"}, SPEC)
    assert flt.querystring() == "param.opt=adam&metric__gte=0.9&sort=-step"
    assert flt.querystring(sort="trial", page="") == "param.opt=adam&metric__gte=0.9&sort=trial"


def test_a_wrong_value_stays_typed_and_is_named_by_its_label_not_its_url_key():
    flt = parse_filter({"metric__gte": "abc", "param.learning_rate__lte": "x"}, SPEC)
    assert flt.given == {"metric__gte": "abc", "param.learning_rate__lte": "x"}
    assert flt.active == {}
    assert flt.messages == [f"{SPEC.metric_tag} ≥: 'abc' is not a number",
                            "learning_rate ≤: 'x' is not a number"]


def test_an_inverted_range_says_it_cannot_match_instead_of_matching_nothing_silently():
    flt = parse_filter({"metric__gte": "0.9", "metric__lte": "0.5",
                        "param.learning_rate__gte": "0.1", "param.learning_rate__lte": "0.01",
                        "step__gte": "1", "step__lte": "5"}, SPEC)
    assert not flt.errors
    assert flt.messages == [
        f"{SPEC.metric_tag} ≥ 0.9 is above {SPEC.metric_tag} ≤ 0.5: no trial can match; "
        "swap them",
        "learning_rate ≥ 0.1 is above learning_rate ≤ 0.01: no trial can match; swap them"]
