"""Grade passback: Buzz gradebooks to a SIS's OneRoster 1.1 gradebook.

Quick start::

    from oneroster_client.buzz.passback import PassbackSettings, pass_back_grades

    settings = PassbackSettings(parent_domain_id="12345", profile="skyward")
    report = pass_back_grades(buzz, oneroster, settings, validate_only=True,
                              history=SyncHistory("buzz-sync.sqlite"))
    print(report.to_text())

See ``docs/buzz.md`` ("Grade passback").
"""

from __future__ import annotations

from oneroster_client.buzz.passback.grades import (
    BuzzCategory,
    ClassGradebook,
    StudentScores,
    find_class_courses,
    read_class_gradebook,
)
from oneroster_client.buzz.passback.mapping import (
    GradingPeriod,
    MappedLineItem,
    MappedResult,
    MappingContext,
    line_item_id,
    map_line_item,
    map_result,
    result_id,
)
from oneroster_client.buzz.passback.profiles import (
    LongTitles,
    PassbackSettings,
    ProfileLimits,
    SisProfile,
    limits_of,
)
from oneroster_client.buzz.passback.report import PASSBACK_WORDS, PassbackReport
from oneroster_client.buzz.passback.run import pass_back_grades

__all__ = [
    "PASSBACK_WORDS",
    "BuzzCategory",
    "ClassGradebook",
    "GradingPeriod",
    "LongTitles",
    "MappedLineItem",
    "MappedResult",
    "MappingContext",
    "PassbackReport",
    "PassbackSettings",
    "ProfileLimits",
    "SisProfile",
    "StudentScores",
    "find_class_courses",
    "limits_of",
    "line_item_id",
    "map_line_item",
    "map_result",
    "pass_back_grades",
    "read_class_gradebook",
    "result_id",
]
