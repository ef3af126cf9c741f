"""The worker machines' API (``/workers/v1/``): what a ``make worker`` machine sends the
server, authenticated with a worker key (``manage.py create_worker_key``) and nothing else.
Not a Google API: plain JSON answers."""
