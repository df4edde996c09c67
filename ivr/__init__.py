"""A voice hotline IVR on Twilio."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import cli
from ivr.call_log.writer import CallLog
from ivr.callback_requests.spool import Spool
from ivr.callback_requests.writer import RequestWriter
from ivr.chat import web as chat_page
from ivr.database import MIGRATIONS, configure_engine, db, engine_options, migrate
from ivr.http_request import WebRequest
from ivr.menu.menu_file import load_menu
from ivr.menu.prompts import check, load_catalog
from ivr.menu.reloading import PromptsReloader
from ivr.menu.twiml import Renderer
from ivr.operations import health, logs, metrics
from ivr.operators import web as operators_page
from ivr.operators.blocking import BlockList
from ivr.phones import PhoneVault
from ivr.services import Hotline
from ivr.settings import INSTANCE_PATH, ConfigError, settings_from_environment
from ivr.telegram import web as telegram_webhook
from ivr.telegram.bot_api import BotApi
from ivr.twilio.rest_api import TwilioApi
from ivr.voice import debugger, media, serving

# Twilio's webhook bodies are a few kilobytes; anything far larger is not Twilio.
MAX_BODY = 64 * 1024


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the app. `config` overrides environment variables, with the same names.

    Raises StartupError (one line) for a bad setting, menu or prompt file.
    """
    app = Flask(__name__, instance_path=str(INSTANCE_PATH), static_folder=None)
    app.request_class = WebRequest
    settings = settings_from_environment(Path(app.instance_path), config)
    logs.configure(settings.log_level)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    if settings.database_url.startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)

    menu_file = load_menu(settings.prompts_dir / "menu.yaml")
    catalog = load_catalog(menu_file, settings.prompts_dir)
    vault = PhoneVault(settings.phone_encryption_keys, settings.phone_hash_key)
    with app.app_context():
        engine = db.engine
    configure_engine(engine)
    app.extensions["ivr"] = Hotline(
        settings=settings,
        menu=menu_file,
        catalog=catalog,
        renderer=Renderer(menu_file, catalog),
        vault=vault,
        validator=RequestValidator(settings.twilio_auth_token),
        engine=engine,
        call_log=CallLog(engine, vault),
        callback_requests=RequestWriter(engine, vault, Spool(settings.spool_dir, vault)),
        twilio=TwilioApi(settings.twilio_account_sid, settings.twilio_auth_token),
        blocks=BlockList(engine, vault, flag_threshold=settings.flag_calls_from_one_number,
                         flag_window=timedelta(minutes=settings.flag_window_minutes)),
        telegram=BotApi(settings.telegram_bot_token),
    )
    _check_spool(app.extensions["ivr"])
    # What `ivr prompts check` reports, said once at start-up: callers are not harmed
    # (a prompt without a good recording is spoken), but someone should know.
    for problem in check(menu_file, settings.prompts_dir):
        logging.getLogger("ivr.prompts").warning("prompt problem: %s", problem)
    reloader = PromptsReloader(app, settings.prompts_dir, settings.spool_dir)
    app.before_request(reloader.check)
    # Twilio's voice webhooks are answered by a lean app of their own (see voice/serving.py).
    app.wsgi_app = serving.ByPath(  # type: ignore[method-assign]
        app.wsgi_app, serving.webhooks_app(app, reloader.check).wsgi_app)

    if settings.trusted_proxy_hops:
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    # The voice webhooks' blueprints too, so that this app knows every path (metrics' labels,
    # url_for, the docs); a request under /voice/ is answered by the webhooks' app.
    for blueprint in (*serving.BLUEPRINTS, media.bp, debugger.bp):
        app.register_blueprint(blueprint)
    operators_page.init_app(app, settings)
    chat_page.init_app(app)
    app.register_blueprint(telegram_webhook.bp)
    for blueprint in (health.bp, metrics.bp):
        app.register_blueprint(blueprint)
    metrics.measure(app)
    cli.register(app)
    logging.getLogger("ivr").debug("ready", extra={"env": settings.env,
                                                  "database": engine.dialect.name})
    return app


def _check_spool(hotline: Hotline) -> None:
    """The spool is where callback requests wait when the database is away: production does
    not start without one it can write to; development says so and starts."""
    problem = hotline.callback_requests.spool.problem()
    if problem is None:
        return
    message = (f"SPOOL_DIR={hotline.settings.spool_dir} {problem}: callback requests could "
               "not wait there while the database is away")
    if hotline.settings.production:
        raise ConfigError(message)
    logging.getLogger("ivr").warning(message)
