"""Every model module, imported once so that Alembic and create_all see the whole schema."""
from app.contacts import models as contact_models  # noqa: F401
from app.core import accounts, audit, settings, tokens  # noqa: F401
from app.rfm import models as rfm_models  # noqa: F401
from app.wecom import inbox  # noqa: F401
