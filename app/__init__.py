"""The console application factory: a table of contents that wires extensions, blueprints, CLI and errors."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.db import engine_options, include_in_migrations, render_migration_item
from config import INSTANCE_DIR, PROJECT_ROOT, BaseConfig


def create_app(config: type[BaseConfig] | None = None) -> Flask:
    """Build the console app; it never starts the scheduler, migrates or calls WeCom."""
    from config import config_from_env

    config = config or config_from_env()
    config.check()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    app.config.from_object(config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    INSTANCE_DIR.mkdir(exist_ok=True)
    if hops := app.config["PROXY_HOPS"]:  # the client's address, scheme and host as the proxies in front saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app import models, web  # noqa: F401 (models: the whole schema for Alembic)
    from app.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item, include_object=include_in_migrations)
    login_manager.init_app(app)
    from app.rfm.uploads import allow_order_files

    app.before_request(allow_order_files)  # before the CSRF check reads (and size-checks) the form
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    web.init_app(app)

    from app.admin.views import bp as admin_bp
    from app.api import init_api
    from app.auth.views import bp as auth_bp
    from app.campaigns.views import bp as campaigns_bp
    from app.community.views import bp as community_bp
    from app.contacts.views import bp as contacts_bp
    from app.home.views import bp as home_bp
    from app.jobs.views import bp as jobs_bp
    from app.journeys.views import bp as journeys_bp
    from app.lifecycle.views import bp as lifecycle_bp
    from app.media.views import bp as media_bp
    from app.referral.public_views import bp as referral_bp
    from app.referral import poster_views  # noqa: F401  (the poster page's routes join the referral blueprint)
    from app.rfm.views import bp as rfm_bp
    from app.segments.views import bp as segments_bp
    from app.staffmsg.views import bp as staffmsg_bp
    from app.tags.views import bp as tags_bp
    from app.tasks.views import bp as tasks_bp
    from app.team.views import bp as team_bp
    from app.transfer.views import bp as transfer_bp
    from app.wecom.views import bp as wecom_bp
    from app.welcome.views import bp as welcome_bp
    from app.wordlist.views import bp as wordlist_bp

    for blueprint in (auth_bp, home_bp, admin_bp, wecom_bp, contacts_bp, rfm_bp, welcome_bp, segments_bp, tags_bp,
                      campaigns_bp, media_bp, jobs_bp, team_bp, wordlist_bp, journeys_bp, lifecycle_bp,
                      tasks_bp, staffmsg_bp, referral_bp, transfer_bp,
                      community_bp):
        app.register_blueprint(blueprint)
    init_api(app)

    from app.cli import scrm_cli

    app.cli.add_command(scrm_cli)
    return app
