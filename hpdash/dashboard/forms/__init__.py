"""The new-job form: fields that build an ml v1 ``Job`` dict, and the way back.

- :mod:`.fields`: the Django forms (``JobForm``, ``ParamForm``/``ParamFormSet``, ``ImportForm``),
  their choices and the tables mapping fields to Job keys.
- :mod:`.build`: form -> Job dict (``build_job``), and the parser's violations -> fields
  (``apply_violations``).
- :mod:`.advice`: warnings that are advice, not errors (``spec_warnings``, ``with_params``,
  ``fingerprint``).
- :mod:`.initial`: Job dict -> form initial data (``job_to_initial``, ``merge_job``).

Nothing is re-exported here: import from the module that holds the name.
"""
