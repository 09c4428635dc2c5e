"""A fake of Message Central's VerifyNow / Message Now API (docs: see ``providers/message_central.py``).

Use it as ``httpx.MockTransport(FakeMessageCentral().handler)``. It routes on the path only, so any
host works. What it enforces:

* ``GET /auth/v1/authentication/token`` checks ``customerId`` and ``key`` (Base64 of the password) and
  answers HTTP 200 either way [code]: ``{"status": 200, "token": <JWT>}`` or ``{"status": 400, "error":
  "customerId is invalid" | "password is wrong"}``. Tokens look like the vendor's HS512 JWTs, with a
  real base64url JSON payload ``{"sub", "iat", "exp"}``; ``token_lifetime_s`` sets ``exp - iat``.
* ``POST /verification/v3/send`` and ``GET /verification/v3/validateOtp`` need a live ``authToken``
  header (HTTP 401 otherwise [guess]) and read everything from the query string [doc].
  VerifyNow sends make a numeric code of ``otpLength`` (4..8, default 4) digits and a numeric
  ``verificationId``; a second send to a number within ``timeout_s`` is 506, a number's send after
  ``max_sends`` is 800. ``type=SMS`` (Message Now) records our ``message`` instead.
  Validation answers 200 ``VERIFICATION_COMPLETED``, 702 wrong code, 703 already verified, 705 expired
  (after ``timeout_s``), 505 unknown id, 800 once ``max_wrong_attempts`` wrong codes were given.
* Business errors come as HTTP 200 with ``responseCode`` in the body, or, with
  ``errors_as_http_status=True``, with a matching HTTP 4xx/5xx status and the same body [guess].

Failure switches act on send and validate only (the token call keeps working, so a read timeout is
one on a send): ``raise_exc`` (an exception instance or class, raised per request while set),
``fail_with_status`` (every call answers that status with an error envelope), ``next_response``
(returned once). ``login_fail_with_status`` does the same for the token call. ``expire_tokens()``
makes every issued token invalid, so the next call gets HTTP 401.

Sources of each shape (every reply below names its own in a comment): the v3 VerifyNow page
https://messagecentral.com/en-in/product/verify-now/api-india ("flowType SMS/WHATSAPP/RCS/SAUTH, type OTP",
the token reply ``{"status", "token"}``), the v1 page https://www.messagecentral.com/product/verify-now/api
(the send envelope, ``"transactionId": null``, the 200 status), the vendor's Message Now API document
(v1.0: ``senderId`` "Yes (in case of SMS)", ``templateId``/``entityId`` both or neither, the callback
body and its states; kept in the project's seed notes) and the response-code table clients copied from
the vendor's PDF [code]. Where the docs are silent the fake says so: the HTTP status of business
errors, what a number without WhatsApp gets (``no_whatsapp``: a 400 envelope, [doc: absent]), and the
401 on a bad token.

WhatsApp: VerifyNow sends take ``flowType=WHATSAPP``; numbers in ``no_whatsapp`` are refused.
``null_transaction_id=True`` answers ``"transactionId": null`` as the v1 example does.

Test hooks: ``code_for(verification_id)``, ``last_code``, ``messages`` (each with ``to`` as the vendor
received it, country code + national number digits, ``text``, and for VerifyNow the ``code``),
``logins`` (tokens issued) and ``dlr_body()`` for the delivery-report webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from providers.message_central import MessageCentralSettings, MessageCentralSms, MessageCentralVerify

__all__ = ("ENV", "SETTINGS", "SMS_SETTINGS", "FakeMessageCentral", "build", "build_sms", "env")

BASE_URL = "https://messagecentral.test"
CUSTOMER_ID = "C-0123456789ABCDE"
PASSWORD = "mc-test-password"

SETTINGS = MessageCentralSettings(base_url=BASE_URL, customer_id=CUSTOMER_ID, password=PASSWORD)
SMS_SETTINGS = MessageCentralSettings(
    base_url=BASE_URL, customer_id=CUSTOMER_ID, password=PASSWORD, mode="sms", sender_id="ACME"
)
ENV = {
    "MESSAGE_CENTRAL_BASE_URL": BASE_URL,
    "MESSAGE_CENTRAL_CUSTOMER_ID": CUSTOMER_ID,
    "MESSAGE_CENTRAL_PASSWORD": PASSWORD,
    "MESSAGE_CENTRAL_MODE": "verify_now",
}

TOKEN_PATH = "/auth/v1/authentication/token"
SEND_PATH = "/verification/v3/send"
VALIDATE_PATH = "/verification/v3/validateOtp"

MESSAGES = {
    200: "SUCCESS",
    400: "BAD_REQUEST",
    409: "DUPLICATE_RESOURCE",
    500: "SERVER_ERROR",
    501: "INVALID_CUSTOMER_ID",
    505: "INVALID_VERIFICATION_ID",
    506: "REQUEST_ALREADY_EXISTS",
    511: "INVALID_COUNTRY_CODE",
    700: "VERIFICATION_FAILED",
    702: "WRONG_OTP_PROVIDED",
    703: "ALREADY_VERIFIED",
    705: "VERIFICATION_EXPIRED",
    800: "MAXIMUM_LIMIT_REACHED",
}
# The HTTP status a business code travels with when `errors_as_http_status` is set [guess: the docs only
# say "a successful response will return a 200 status code"].
HTTP_STATUS = {400: 400, 409: 409, 500: 500, 501: 400, 505: 404, 506: 409, 511: 400, 702: 400, 703: 409, 705: 410}
HTTP_STATUS |= {700: 400, 800: 429}
MESSAGE_TYPES = frozenset({"OTP", "TRANSACTION", "TRANSACTIONAL", "PROMOTIONAL"})
_SIGNING_KEY = b"fake-message-central-signing-key"


def build(client: httpx.AsyncClient) -> MessageCentralVerify:
    return MessageCentralVerify(SETTINGS, client)


def build_sms(client: httpx.AsyncClient) -> MessageCentralSms:
    return MessageCentralSms(SMS_SETTINGS, client)


def env() -> dict[str, str]:
    return dict(ENV)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_JWT_HEADER = b64url(b'{"alg":"HS512"}')


def make_jwt(claims: dict[str, Any]) -> str:
    """An HS512 JWT like the vendor's (the signature is real, with a key only the fake knows)."""
    signing_input = f"{_JWT_HEADER}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(_SIGNING_KEY, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64url(signature)}"


@dataclass
class Verification:
    verification_id: str
    country_code: str
    mobile: str
    code: str
    created_at: float
    transaction_id: str
    flow: str = "SMS"
    wrong: int = 0
    completed: bool = False


class FakeMessageCentral:
    def __init__(
        self,
        *,
        customer_id: str = CUSTOMER_ID,
        password: str = PASSWORD,
        token_lifetime_s: float = 7 * 24 * 3600,
        timeout_s: float = 60.0,
        max_sends: int | None = None,
        max_wrong_attempts: int = 3,
        errors_as_http_status: bool = False,
        opaque_tokens: bool = False,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.password = password
        self.token_lifetime_s = token_lifetime_s
        self.timeout_s = timeout_s
        self.max_sends = max_sends
        self.max_wrong_attempts = max_wrong_attempts
        self.errors_as_http_status = errors_as_http_status
        self.opaque_tokens = opaque_tokens  # issue tokens that are not JWTs (no readable exp)
        self.no_whatsapp: set[str] = set()  # numbers (cc + national digits) without a WhatsApp account
        self.null_transaction_id = False  # answer `"transactionId": null`, as the v1 doc example does
        self.clock = clock
        # switches
        self.raise_exc: BaseException | type[BaseException] | None = None
        self.fail_with_status: int | None = None
        self.next_response: httpx.Response | None = None
        self.login_fail_with_status: int | None = None
        # state and records
        self.tokens: dict[str, float] = {}  # token -> exp
        self.verifications: dict[str, Verification] = {}
        self.sends_per_number: dict[str, int] = {}
        self.messages: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.logins = 0
        self._ids = itertools.count(3_000_001)
        self._rng = random.Random(seed)

    # --- test hooks -------------------------------------------------------------------------------

    def issue_token(self, lifetime_s: float | None = None) -> str:
        """A token as the dashboard shows it (for ``MESSAGE_CENTRAL_AUTH_TOKEN``)."""
        now = self.clock()
        exp = now + (self.token_lifetime_s if lifetime_s is None else lifetime_s)
        if self.opaque_tokens:
            token = uuid.uuid4().hex
        else:
            token = make_jwt({"sub": self.customer_id, "iat": int(now), "exp": int(exp), "jti": uuid.uuid4().hex})
        self.tokens[token] = exp
        return token

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def code_for(self, verification_id: str | int) -> str:
        return self.verifications[str(verification_id)].code

    @property
    def last_verification_id(self) -> str:
        return next(reversed(self.verifications))

    @property
    def last_code(self) -> str:
        return self.code_for(self.last_verification_id)

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def dlr_body(self, message_id: str | None, status: str = "DELIVRD", *, mobile: str | None = None) -> bytes:
        """The delivery report Message Central POSTs to the callback URL registered by e-mail.

        Source: the Message Now API document, "SMS Callback Integration": this exact body (sample status
        ``DELIVRD``) and the states DELIVERED, EXPIRED, UNDELIV, UNKNOWN, REJECTED [seed/doc].
        ``mobile`` defaults to the number of the last message sent.
        """
        if mobile is None:
            mobile = str(self.messages[-1]["to"]) if self.messages else "919999999999"
        body = {
            "apiKey": None,
            "clientId": None,
            "messageId": message_id,
            "status": status,
            "errorCode": 0,
            "countryCode": None,
            "mobile": mobile,
            "submitDate": "2023-11-02 13:59:18",
            "doneDate": "2023-11-02 13:59:22",
        }
        return json.dumps(body).encode()

    # --- the API ----------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.rstrip("/")
        if path == TOKEN_PATH:
            return self._token(request) if request.method == "GET" else _json(405, {"status": 405})
        routes = {SEND_PATH: ("POST", self._send), VALIDATE_PATH: ("GET", self._validate)}
        if path not in routes:
            return _json(404, {"status": 404, "error": "Not Found", "path": path})
        method, route = routes[path]
        if request.method != method:
            return _json(405, {"status": 405, "error": "Method Not Allowed", "path": path})
        if self.raise_exc is not None:
            exc = self.raise_exc
            if isinstance(exc, type) and issubclass(exc, httpx.RequestError):
                raise exc("fake failure", request=request)
            raise exc
        if self.next_response is not None:
            response, self.next_response = self.next_response, None
            return response
        if self.fail_with_status is not None:
            return self._error(self.fail_with_status, status=self.fail_with_status)
        token = request.headers.get("authToken")
        if token is None or self.tokens.get(token, 0.0) <= self.clock():
            # The docs do not say what a missing or expired token gets [doc: absent]: a Spring-style 401.
            return _json(401, {"status": 401, "error": "Unauthorized", "path": path})
        params = request.url.params
        if params.get("customerId") != self.customer_id:
            return self._error(501)
        return route(request.url.params)

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.login_fail_with_status is not None:
            return _json(self.login_fail_with_status, {"status": self.login_fail_with_status, "error": "fake switch"})
        params = request.url.params
        if params.get("customerId") != self.customer_id:
            return _json(200, {"status": 400, "error": "customerId is invalid"})
        try:
            password = base64.b64decode(params.get("key", ""), validate=True).decode()
        except ValueError:
            password = None
        if password != self.password:
            return _json(200, {"status": 400, "error": "password is wrong"})
        self.logins += 1
        # v3 page: `{"status": Integer, "token": "String"}` [doc]; the failures above are [code].
        return _json(200, {"status": 200, "token": self.issue_token()})

    def _error(self, code: int, *, status: int | None = None) -> httpx.Response:
        # `{"responseCode": 702, "message": "WRONG_OTP_PROVIDED"}` as logged by a client [code]; `data: null`
        # and the HTTP status are [guess] (the docs only show successes).
        if status is None:
            status = HTTP_STATUS.get(code, 400) if self.errors_as_http_status else 200
        return _json(status, {"responseCode": code, "message": MESSAGES.get(code, "ERROR"), "data": None})

    def _send(self, params: httpx.QueryParams) -> httpx.Response:
        cc, mobile = params.get("countryCode", ""), params.get("mobileNumber", "")
        flow, kind = params.get("flowType"), params.get("type")
        # v3: flowType is SMS/WHATSAPP/RCS/SAUTH and `type` is OTP for VerifyNow, SMS for Message Now [doc].
        if not cc or not mobile or flow not in ("SMS", "WHATSAPP") or kind not in ("OTP", "SMS"):
            return self._error(400)
        if kind == "SMS" and flow != "SMS":
            return self._error(400)
        if not cc.isdigit() or cc.startswith("0") or len(cc) > 3:
            return self._error(511)
        if not mobile.isdigit() or not 4 <= len(mobile) <= 14:
            return self._error(400)
        number = cc + mobile
        if self.max_sends is not None and self.sends_per_number.get(number, 0) >= self.max_sends:
            return self._error(800)
        now = self.clock()
        transaction_id = str(uuid.uuid4())
        verification_id = str(next(self._ids))
        if kind == "SMS":
            text, message_type = params.get("message", ""), params.get("messageType", "")
            # Message Now: senderId "Yes (in case of SMS)"; templateId and entityId both or neither [doc].
            # The vendor's answer to a missing one is not documented: BAD_REQUEST, as for missing params.
            if not text or message_type not in MESSAGE_TYPES or not params.get("senderId"):
                return self._error(400)
            if bool(params.get("templateId")) != bool(params.get("entityId")):
                return self._error(400)
            record = {"kind": "sms", "to": number, "text": text, "sender_id": params.get("senderId")}
            record |= {"template_id": params.get("templateId"), "entity_id": params.get("entityId")}
            record |= {"message_type": message_type, "verification_id": verification_id, "message_id": transaction_id}
        else:
            length = params.get("otpLength", "4")
            if not length.isdigit() or not 4 <= int(length) <= 8:
                return self._error(400)
            if flow == "WHATSAPP" and number in self.no_whatsapp:
                return self._error(400)  # what the vendor answers here is not documented [doc: absent]
            if any(
                v.country_code == cc and v.mobile == mobile and not v.completed and now < v.created_at + self.timeout_s
                for v in self.verifications.values()
            ):
                return self._error(506)
            code = "".join(self._rng.choice("0123456789") for _ in range(int(length)))
            found = Verification(verification_id, cc, mobile, code, now, transaction_id, flow=flow)
            self.verifications[verification_id] = found
            record = {"kind": "verify", "to": number, "text": f"{code} is your verification code.", "code": code}
            record |= {"flow": flow}
            record |= {"verification_id": verification_id, "message_id": transaction_id}
        self.sends_per_number[number] = self.sends_per_number.get(number, 0) + 1
        self.messages.append(record)
        # The v3 sample (Message Now doc) and the v1 example (transactionId null) [doc].
        data = {
            "verificationId": verification_id,
            "mobileNumber": mobile,
            "responseCode": "200",
            "errorMessage": None,
            "timeout": f"{self.timeout_s:.1f}",
            "smsCLI": None,
            "transactionId": None if self.null_transaction_id else transaction_id,
        }
        return _json(200, {"responseCode": 200, "message": "SUCCESS", "data": data})

    def _validate(self, params: httpx.QueryParams) -> httpx.Response:
        verification_id, code = params.get("verificationId", ""), params.get("code", "")
        # v3: flowType is one of "the parameters that need to be sent while using VerifyNow APIs" [doc].
        if not verification_id or not code or params.get("flowType") not in ("SMS", "WHATSAPP"):
            return self._error(400)
        found = self.verifications.get(verification_id)
        if found is None:
            return self._error(505)
        if any(params.get(k, v) != v for k, v in (("countryCode", found.country_code), ("mobileNumber", found.mobile))):
            return self._error(505)
        if found.completed:
            return self._error(703)
        if found.wrong >= self.max_wrong_attempts:
            return self._error(800)
        if self.clock() >= found.created_at + self.timeout_s:
            return self._error(705)
        if not hmac.compare_digest(code.encode(), found.code.encode()):
            found.wrong += 1
            return self._error(702)
        found.completed = True
        # The v2 README mirror of the doc's success body [code].
        data = {
            "verificationId": verification_id,
            "mobileNumber": found.mobile,
            "verificationStatus": "VERIFICATION_COMPLETED",
            "responseCode": "200",
            "errorMessage": None,
            "transactionId": found.transaction_id,
            "authToken": None,
        }
        return _json(200, {"responseCode": 200, "message": "SUCCESS", "data": data})


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)
