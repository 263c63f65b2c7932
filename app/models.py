"""Every model module, imported once so that Alembic and create_all see the whole schema."""
from app.campaigns import models as campaign_models  # noqa: F401
from app.community import models as community_models  # noqa: F401
from app.community.sop import models as community_sop_models  # noqa: F401
from app.contacts import models as contact_models  # noqa: F401
from app.core import accounts, audit, settings, tokens  # noqa: F401
from app.jobs import models as job_models  # noqa: F401
from app.journeys import models as journey_models  # noqa: F401
from app.lifecycle import models as lifecycle_models  # noqa: F401
from app.media import models as media_models  # noqa: F401
from app.referral import models as referral_models  # noqa: F401
from app.rfm import models as rfm_models  # noqa: F401
from app.segments import models as segment_models  # noqa: F401
from app.sending import models as sending_models, outside_sends  # noqa: F401
from app.staffmsg import models as staffmsg_models  # noqa: F401
from app.tags import models as tag_models  # noqa: F401
from app.tasks import models as task_models  # noqa: F401
from app.team import models as team_models  # noqa: F401
from app.transfer import models as transfer_models  # noqa: F401
from app.wecom import inbox, token_status  # noqa: F401
from app.welcome import models as welcome_models  # noqa: F401
from app.wordlist import models as wordlist_models  # noqa: F401
