from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskFunction(models.Model):
    """A function registered from code, which tasks may therefore run.

    Stored so that web servers and workers know the allowed functions without
    importing any ``flows`` module.
    """

    path = models.CharField(_("dotted path"), max_length=255, unique=True)
    docstring = models.TextField(_("docstring"), blank=True)
    source = models.TextField(_("source"), blank=True)
    registered_at = models.DateTimeField(_("first registered"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("registered function")
        verbose_name_plural = _("registered functions")

    def __str__(self):
        return self.path
