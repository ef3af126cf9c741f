print("trained, but forgot to report the metric")
