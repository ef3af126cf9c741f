from django.apps import AppConfig


class HpdashConfig(AppConfig):
    name = "hpdash"
    verbose_name = "hpdash"
