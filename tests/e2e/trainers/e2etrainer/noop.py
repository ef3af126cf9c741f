"""Reports one value and exits: measures hpdash's own per-trial overhead."""

import hypertune

hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="score", metric_value=1.0, global_step=1)
