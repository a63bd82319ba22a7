"""Forms (``/api/v1/forms``, hub/forms.py): admins write them, every staff member reads them (to
send one into a conversation)."""

from __future__ import annotations

from hub.api.named import NamedRoutes
from hub.forms import Form, FormIn

__all__ = ["FormIn", "routes"]

_forms = NamedRoutes("forms", "form", lambda hub: hub.store.forms, FormIn, Form)
routes = _forms.routes
body_models = _forms.body_models
