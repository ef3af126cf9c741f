"""The ``filter`` of list methods: Google's list-filter language (a subset of AIP-160), parsed
into a small tree and evaluated against a resource as its API family shows it (a plain dict,
such as :func:`hpdash.api.mlv1.serializers.job_resource` returns).  Each family names its
filterable fields in a :class:`Catalogue`.  No Django in here;
:mod:`hpdash.api.common.filtering` translates what it can into a database query.

Grammar (AIP-160; keywords are upper case)::

    filter      = [expression]
    expression  = sequence {"AND" sequence}
    sequence    = factor {factor}                  # adjacent terms: implicit AND
    factor      = term {"OR" term}
    term        = ["NOT" | "-"] simple
    simple      = restriction | "(" expression ")"
    restriction = field comparator value           # comparator: : = != < <= > >=

So, as AIP-160 specifies (and unlike most programming languages), ``OR`` binds tighter than
``AND``: ``a AND b OR c`` means ``a AND (b OR c)``; ``NOT``/``-`` binds tightest.

Semantics (hpdash's choices where AIP-160 leaves room):

- Fields: the catalogue's (ml v1's ``jobs.list``: ``jobId``, ``state``, ``errorMessage``,
  ``createTime``, ``startTime``, ``endTime``, ``labels.KEY``, ``labels`` (``labels:KEY`` tests
  that a key is present) and ``trainingInput.<path>`` (``trainingInput.hyperparameters.goal``));
  any other field is an error.  A path through a list (``trainingInput.args``,
  ``trainingInput.hyperparameters.params.parameterName``) matches if any element does.
- ``:`` and ``=`` are case-sensitive equality; a ``*`` in the value is a wildcard for any run
  of characters (``jobId:census*``), also inside quotes unless escaped as ``\\*``.
  ``field:*`` alone tests that the field is set (``field!=*``: unset).  ``!=`` is exactly
  ``NOT field=value``, so it matches jobs where the field is unset.  Booleans are ``true`` /
  ``false`` in any case.
- ``<``, ``<=``, ``>``, ``>=``: times (``createTime``, ``startTime``, ``endTime``, and ``=`` on
  them too) compare as times — the value is an RFC 3339 time (``2024-05-01T12:00:00Z``; without
  an offset it is UTC) or a date (``2024-05-01``, midnight UTC); an unset time matches only
  ``!=``.  Numbers in ``trainingInput`` compare as numbers; strings compare as numbers when both
  sides are decimal numbers, otherwise lexicographically.
- ``state`` values are checked against the state enum, so ``state=FAILD`` is an error rather
  than a filter that matches nothing.
- Values are unquoted (up to the next space or parenthesis, so ``createTime>2024-05-01T12:00:00Z``
  needs no quotes) or quoted with ``"..."`` or ``'...'`` and backslash escapes.
"""

from .matching import matches
from .parser import parse_filter
from .syntax import And, Catalogue, Expr, FilterError, Not, Or, Restriction, Value

__all__ = ["And", "Catalogue", "Expr", "FilterError", "Not", "Or", "Restriction", "Value",
           "matches", "parse_filter"]
