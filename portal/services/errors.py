"""The one exception the domain raises for a rule a request broke."""


class DomainError(Exception):
    """A broken rule: `message` is translated (lazy) for people, `code` is stable for the API."""

    status = 422

    def __init__(self, message, code: str = "invalid", field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field
        if status is not None:
            self.status = status
