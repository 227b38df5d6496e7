"""The library's texts in Korean, shared by every door that shows them: the pages (through
``core.web.add_messages``) and the SIP2 server's screen messages (``AF``)."""

from __future__ import annotations

# Every refusal code of the library's use cases, in Korean (``core.web.add_messages``): a
# page shows these, whichever door a code is met through first.
MESSAGES = {
    # Residents: holds, renewals, their card.
    "no_library_card": "이 계정에 연결된 도서관 회원증이 없습니다. 도서관 사서에게 회원증을 "
    "이 계정에 연결해 달라고 요청해 주세요.",
    "patron_suspended": "대출정지 기간에는 대출과 예약을 할 수 없습니다.",
    "holds_barred": "예약한 책을 여러 번 찾아가지 않아 한동안 새 예약을 할 수 없습니다.",
    "hold_limit_reached": "한 번에 예약할 수 있는 권수를 모두 채웠습니다.",
    "hold_exists": "이미 예약하신 도서입니다. 내 도서에서 예약 상태를 확인해 주세요.",
    "no_copies": "도서관에 빌려 드릴 수 있는 책이 없어 예약할 수 없습니다.",
    "pickup_unavailable": "이 키오스크에서는 예약한 책을 받을 수 없습니다. 다른 키오스크를 "
    "골라 주세요.",
    "hold_closed": "이미 끝난 예약입니다.",
    "loan_closed": "이미 반납한 책입니다.",
    "loan_overdue": "반납 예정일이 지난 책은 연장할 수 없습니다. 먼저 반납해 주세요.",
    "renewal_limit": "연장할 수 있는 횟수를 모두 썼습니다.",
    "title_on_hold": "다른 분이 예약하고 기다리는 책이라 연장할 수 없습니다.",
    # At the kiosk: cards, PINs, lending and returning.
    "invalid_card_or_pin": "회원증 번호 또는 비밀번호가 맞지 않습니다.",
    "card_locked": "비밀번호를 여러 번 틀려 회원증이 잠시 잠겼습니다. 잠시 후 다시 해 주세요.",
    "locked": "비밀번호를 여러 번 틀려 회원증이 잠시 잠겼습니다. 잠시 후 다시 해 주세요.",
    "unknown_card": "등록되지 않은 회원증입니다.",
    "overdue_loans": "반납 예정일이 지난 책을 먼저 반납해 주세요.",
    "loan_limit_reached": "대출할 수 있는 권수를 모두 채웠습니다.",
    "copy_on_loan": "이미 대출 중인 책입니다.",
    "copy_reserved": "다른 분이 예약한 책입니다.",
    "copy_not_lendable": "분실되었거나 제적된 책이라 대출할 수 없습니다.",
    "not_on_loan": "대출 중인 책이 아닙니다.",
    "function_unavailable": "이 키오스크에서는 지금 이 기능을 쓸 수 없습니다.",
    "kiosk_full": "키오스크에 빈 칸이 없습니다. 가까운 다른 키오스크를 이용해 주세요.",
    "copy_changed_since": "그 사이에 책의 상태가 바뀌었습니다.",
    "clock_skew": "키오스크의 시계가 맞지 않습니다.",
    "transaction_id_reused": "이미 다른 요청에 쓰인 거래 번호입니다.",
    # Librarians: catalogue, copies, patrons, kiosks, conflicts.
    "isbn_exists": "이미 등록된 ISBN입니다.",
    "title_has_copies": "소장 책이 있는 도서는 지울 수 없습니다. 책을 먼저 제적해 주세요.",
    "barcode_exists": "이미 쓰고 있는 바코드입니다.",
    "unknown_barcode": "등록되지 않은 바코드입니다.",
    "status_change_refused": "지금 상태에서는 이렇게 바꿀 수 없습니다.",
    "card_taken": "이미 발급된 회원증 번호입니다.",
    "user_has_card": "이미 회원증이 연결된 계정입니다.",
    "not_suspended": "대출정지 상태가 아닙니다.",
    "kiosk_exists": "이미 있는 키오스크 코드입니다.",
    "already_revoked": "이미 사용을 멈춘 키오스크 키입니다.",
    "slots_in_use": "책이 들어 있는 칸이 있어 칸 수를 줄일 수 없습니다.",
    "no_such_slot": "없는 칸 번호입니다.",
    "slot_occupied": "이미 책이 들어 있는 칸입니다.",
    "slot_empty": "빈 칸입니다.",
    "copy_in_kiosk": "이미 다른 칸에 들어 있는 책입니다. 먼저 꺼내 주세요.",
    "copy_not_loadable": "지금 상태로는 키오스크에 넣을 수 없는 책입니다.",
    "already_resolved": "이미 처리한 항목입니다.",
    # Self-check machines (SIP2): their logins and what they ask for.
    "invalid_kiosk_key": "키오스크 코드 또는 키가 맞지 않습니다.",
    "no_open_hold": "이 책을 예약하지 않으셨습니다.",
    "unknown_isbn": "등록되지 않은 ISBN입니다.",
    "unknown_kiosk": "없는 키오스크입니다.",
}

# What a self-check machine shows that is not a refusal (SIP2 ``AF`` screen messages).
SIP2_TEXTS = {
    "login_first": "먼저 로그인(93)해야 합니다.",
    "pin_required": "회원증 비밀번호를 입력해 주세요.",
    "checked_out": "대출되었습니다. 반납 예정일은 {due}입니다.",
    "hold_collected": "예약하신 책을 대출했습니다. 반납 예정일은 {due}입니다.",
    "checked_in": "반납되었습니다. {slot}번 칸에 넣었습니다.",
    "checked_in_overdue": "{days}일 늦게 반납되어 {until}까지 대출이 정지됩니다.",
    "reserved_for_hold": "이 책은 다른 분의 예약 도서입니다.",
    "nearby_room": "빈 칸이 있는 가까운 키오스크: {kiosks}",
    "no_nearby_room": "지금 빈 칸이 있는 가까운 키오스크가 없습니다.",
    "renewed": "연장되었습니다. 새 반납 예정일은 {due}입니다.",
    "renewed_all": "{renewed}권을 연장했고 {unrenewed}권은 연장하지 못했습니다.",
    "holds_ready": "예약하신 책 {count}권을 이 키오스크에서 찾아갈 수 있습니다.",
    "suspended_until": "{until}까지 대출이 정지되어 있습니다.",
    "pin_locked": "비밀번호를 여러 번 틀려 회원증이 잠시 잠겼습니다.",
    "wrong_pin": "회원증 번호 또는 비밀번호가 맞지 않습니다.",
    "unknown_card": "등록되지 않은 회원증입니다.",
    "hold_placed": "예약되었습니다. 책이 {kiosk}에 도착하면 알려 드립니다.",
    "hold_ready": "예약하신 책을 {kiosk}에서 {deadline}까지 찾아갈 수 있습니다.",
    "hold_cancelled": "예약을 취소했습니다.",
    "hold_mode_unsupported": "예약 변경은 지원하지 않습니다. 취소 후 다시 예약해 주세요.",
    "goodbye": "이용해 주셔서 감사합니다.",
    "out_of_service": "이 키오스크에서는 지금 {functions} 기능을 쓸 수 없습니다.",
    "malformed": "요청을 읽을 수 없습니다: {reason}",
    "field_too_long": "{field} 필드가 너무 깁니다 (최대 {limit}자).",
    "field_missing": "{field} 필드가 없습니다.",
    "bad_date": "{field} 날짜가 SIP2 형식(YYYYMMDDZZZZHHMMSS)이 아닙니다.",
    "bad_text": "글자를 {encoding}(으)로 읽을 수 없습니다.",
    "server_error": "처리하지 못했습니다. 잠시 후 다시 해 주세요.",
}
