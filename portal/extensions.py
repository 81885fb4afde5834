"""Extensions, created once here and bound to the app with init_app."""

from pathlib import Path

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from huey import RedisHuey, SqliteHuey

from portal import config
from portal.i18n import Babel
from portal.orm import Model

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def make_huey(redis_url: str, folder: str, name: str = "vitrine"):
    """Jobs run on Redis when a Redis URL is given (any number of workers on any machines), else on a
    SQLite file in the instance folder (workers on this machine)."""
    if redis_url:
        return RedisHuey(name, url=redis_url)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(Path(folder) / "jobs.db"))


huey = make_huey(config.env("PORTAL_REDIS_URL"), config.instance_path())
