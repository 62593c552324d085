"""Log lines (issue 18): JSON with the request id, and no ID-card or mobile number in any of them."""
from __future__ import annotations

import json
import logging

from service.logs import REQUEST_ID, JsonLines, mask


def test_id_card_and_mobile_numbers_are_masked_wherever_they_stand():
    assert mask("身份证341702199001010034，电话13812345678。") == "身份证341702********0034，电话138****5678。"
    assert mask("34170219900101003X") == "341702********003X"
    # not a number of either kind: a longer run of digits, a certificate number, a fixed-line phone
    assert mask("S0000341700012540000012") == "S0000341700012540000012"
    assert mask("0566-2012345 and 1234567890123456789") == "0566-2012345 and 1234567890123456789"


def test_a_line_is_one_json_object_with_the_request_and_a_masked_traceback():
    token = REQUEST_ID.set("req-0001-abcd")
    try:
        try:
            raise ValueError("bad id 341702199001010034")
        except ValueError:
            record = logging.LogRecord("service.web", logging.ERROR, __file__, 1, "failed for %s", ("13812345678",),
                                       exc_info=__import__("sys").exc_info())
        line = json.loads(JsonLines().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert (line["level"], line["logger"], line["request_id"]) == ("ERROR", "service.web", "req-0001-abcd")
    assert line["message"] == "failed for 138****5678"
    assert "341702********0034" in line["exception"] and "199001010034" not in line["exception"]
