"""A cron schedule in words for the profiles page: "every 5 minutes", "every day at 02:30 (UTC)".
Only the common shapes are put in words; anything else is shown as "custom" beside its cron."""

from __future__ import annotations

DAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
        "sat": "Saturday", "sun": "Sunday"}


def schedule_words(cron: str | None, timezone: str = "UTC") -> str:
    if not cron:
        return "by hand only"
    fields = cron.split()
    if len(fields) != 5:
        return "custom"
    minute, hour, dom, month, dow = fields
    when = _time_of_day(minute, hour)
    if when is None or month != "*":
        return "custom"
    days = _days(dom, dow)
    if days is None:
        return "custom"
    if when.startswith("every") and days == "every day":
        return when
    zone = f" ({timezone})" if when.startswith("at") else ""
    return f"{days}, {when}{zone}" if not when.startswith("at") else f"{days} {when}{zone}"


def _time_of_day(minute: str, hour: str) -> str | None:
    if hour == "*":
        if minute == "*":
            return "every minute"
        if minute.startswith("*/") and minute[2:].isdigit():
            return f"every {minute[2:]} minutes"
        if minute.isdigit():
            return f"every hour at minute {int(minute)}"
        return None
    if minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit():
        return f"every {hour[2:]} hours at minute {int(minute)}"
    if minute.isdigit() and all(h.isdigit() for h in hour.split(",")):
        return "at " + ", ".join(f"{int(h):02d}:{int(minute):02d}" for h in hour.split(","))
    return None


def _days(dom: str, dow: str) -> str | None:
    if dom == "*" and dow == "*":
        return "every day"
    if dom == "*":
        names = []
        for part in dow.lower().split(","):
            first, _, last = part.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                return None
            names.append(f"{DAYS[first]} to {DAYS[last]}" if last else DAYS[first])
        return "every " + ", ".join(names)
    if dow == "*" and all(d.isdigit() for d in dom.split(",")):
        return "monthly on day " + ", ".join(str(int(d)) for d in dom.split(","))
    return None
