"""Errors raised by domain rules.

Their `message` is shown to staff as is, so it is written in Simplified Chinese; `field` names the
form field at fault, if any, so the web layer can put the message next to it.
"""


class DomainError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CalendarYearMissing(DomainError):
    """The holiday arrangement of a year is not known yet.

    The spec forbids falling back to "weekends only": a deadline computed that way could be wrong
    by a whole Golden Week, so staff are told and an analyst enters the year.
    """

    def __init__(self, year: int) -> None:
        super().__init__(f"{year}年的法定节假日安排尚未录入，请分析员录入后再计算工作日")
        self.year = year
