"""Client for the City of Munich's e-file REST interface (EAI, OpenAPI v1.2.5).

* HTTP Basic auth with a technical user; context headers ``userlogin``, ``joboe``,
  ``jobposition``, ``x-anwendung`` on every call.
* Retries with exponential backoff only for idempotent calls (GET and the search
  POSTs) and only on timeouts, transport errors and 5xx; filing POSTs are sent once.
* Idempotent filing: the EAI has no idempotency key, so the key goes into the
  Erledigung's ``filesubj`` as ``[lotse-id:<key>]`` (``objterms`` would be dropped
  silently when the term is not in the catalogue). Before filing, the Vorgang's
  Erledigungen are checked for that marker; a hit returns the earlier receipt.
* The acting person: ``userlogin`` is the context header the EAI defines for the DMS user on whose
  behalf a call runs (the DMS records it as ``objcreatedby``/owner). The client sends its configured
  login on every call; ``file_outgoing(..., userlogin=...)`` sends the caseworker's login instead,
  so the Erledigung carries the person, not the technical account.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from . import wire
from .errors import EFileAuthError, EFileRefused, NotFound, SourceUnavailable
from .protocol import Case, CaseRef, ContentFile, DocumentRef, FilingReceipt, Health, Procedure

log = logging.getLogger(__name__)

API = "/api"
MARKER_PREFIX = "lotse-id:"
_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_TZ = ZoneInfo("Europe/Berlin")


def marker_for(key: str) -> str:
    return f"[{MARKER_PREFIX}{key}]"


def _with_filing_note(message: str, idempotent: bool) -> str:
    """A filing call that failed in transit may still have filed: say so, and that a retry is safe."""
    if idempotent:
        return message
    return (
        message + " Ob die Ablage erfolgt ist, ist unklar; ein erneuter Versuch mit demselben"
        " Schlüssel legt nicht doppelt ab."
    )


class EAkteRestClient:
    """Synchronous e-file client implementing ``EFileConnector``."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        timeout: float = 10.0,
        retries: int = 2,
        userlogin: str = "lotse",
        joboe: str | None = None,
        jobposition: str | None = "OfficialInCharge",
        anwendung: str = "Lotse",
        backoff_s: float = 0.2,
        max_backoff_s: float = 4.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        if root.endswith(API):
            root = root[: -len(API)]
        headers = {"userlogin": userlogin, "x-anwendung": anwendung, "Accept": "application/json"}
        if joboe:
            headers["joboe"] = joboe
        if jobposition:
            headers["jobposition"] = jobposition
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._rng = random.Random()
        self._http = httpx.Client(
            base_url=root,
            auth=httpx.BasicAuth(user, password),
            timeout=httpx.Timeout(timeout),
            headers=headers,
            transport=transport,
        )

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EAkteRestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------

    def get_case(self, coo: str) -> Case:
        body = self._get_json(f"/files/{coo}", what=f"Akte {coo}")
        return wire.case_from(coo, body)

    def search_cases(
        self,
        aktenzeichen: str | None = None,
        apentry: str | None = None,
        subject: str | None = None,
    ) -> list[CaseRef]:
        criteria = {"filereference": aktenzeichen, "apentry": apentry, "filesubj": subject}
        criteria = {k: v for k, v in criteria.items() if v}
        if not criteria:
            raise ValueError("Mindestens ein Suchkriterium (Aktenzeichen, Aktenplaneintrag, Betreff) angeben.")
        resp = self._request("POST", "/files/search", what="Aktensuche", idempotent=True, json=criteria)
        return wire.case_refs_from(self._json(resp))

    def get_procedure(self, coo: str) -> Procedure:
        body = self._get_json(f"/procedures/{coo}", what=f"Vorgang {coo}")
        return wire.procedure_from(coo, body)

    def list_documents(self, procedure_coo: str) -> list[DocumentRef]:
        """Documents of a Vorgang with their kind (Eingang/Erledigung/Intern)."""
        try:
            body = self._get_json(
                f"/readDocumentObjectsMetaData/{procedure_coo}", what=f"Vorgang {procedure_coo}"
            )
        except _EndpointMissing:
            body = self._get_json(f"/procedureObjects/{procedure_coo}", what=f"Vorgang {procedure_coo}")
            return [DocumentRef(c, n) for c, n in wire.refs(body.get("giobjecttype"))]
        return wire.documents_from_metadata(body)

    def read_document(self, document_coo: str) -> list[ContentFile]:
        """All Schriftstücke of a Dokument, with content."""
        body = self._get_json(f"/documentObjects/{document_coo}", what=f"Dokument {document_coo}")
        files = []
        for coo, _name in wire.refs(body.get("giobjecttype")):
            files.append(self.read_content(coo))
        return files

    def read_content(self, content_coo: str) -> ContentFile:
        body = self._get_json(f"/contentObjects/{content_coo}", what=f"Schriftstück {content_coo}")
        return wire.content_file_from(content_coo, body)

    # -- filing --------------------------------------------------------------------

    def file_outgoing(
        self,
        procedure_coo: str,
        title: str,
        subject: str,
        file_name: str,
        content: bytes,
        idempotency_key: str,
        *,
        userlogin: str | None = None,
    ) -> FilingReceipt:
        """File an Erledigung with one Schriftstück; a repeated key never files twice. ``userlogin``:
        the DMS login of the person on whose behalf it is filed (default: the configured one)."""
        if not _KEY_RE.match(idempotency_key):
            raise ValueError("Ungültiger Idempotenz-Schlüssel (erlaubt: Buchstaben, Ziffern, . _ : -).")
        existing = self.find_filed(procedure_coo, idempotency_key)
        if existing is not None:
            log.info("outgoing already filed in %s (key known), returning earlier receipt", procedure_coo)
            return existing
        params = {
            "referrednumber": procedure_coo,
            "shortname": title,
            "filesubj": f"{subject}\n\n{marker_for(idempotency_key)}" if subject else marker_for(idempotency_key),
            "outgoingdate": datetime.now(_TZ).isoformat(timespec="seconds"),
        }
        files = [
            ("params", (None, json.dumps(params, ensure_ascii=False).encode("utf-8"), "application/json")),
            ("giattachmenttype", (file_name, content, wire.mime_type_for(file_name.rpartition(".")[2]))),
        ]
        extra = {"headers": {"userlogin": userlogin}} if userlogin else {}
        resp = self._request("POST", "/outgoings", what="Ablage der Erledigung", idempotent=False, files=files,
                             **extra)
        body = self._json(resp)
        objid = body.get("objid")
        if not objid:
            raise SourceUnavailable("Die E-Akte hat die Ablage ohne Objekt-ID beantwortet.")
        log.info("outgoing filed in %s as %s", procedure_coo, objid)
        return FilingReceipt(objid=str(objid), objname=str(body.get("objname") or ""))

    def find_filed(self, procedure_coo: str, idempotency_key: str) -> FilingReceipt | None:
        """The receipt of an Erledigung filed earlier with this key, if any."""
        try:
            docs = self.list_documents(procedure_coo)
        except NotFound:
            return None  # the filing call will get the DMS's own refusal
        marker = marker_for(idempotency_key)
        for doc in reversed(docs):
            if doc.kind not in (None, "Erledigung"):
                continue
            try:
                body = self._get_json(f"/outgoings/{doc.coo}", what=f"Erledigung {doc.coo}")
            except (NotFound, EFileRefused):
                continue  # not an Erledigung
            if marker in str(body.get("filesubj") or ""):
                return FilingReceipt(objid=doc.coo, objname=str(body.get("objname") or doc.name), already_filed=True)
        return None

    # -- health --------------------------------------------------------------------

    def health(self) -> Health:
        start = time.perf_counter()
        try:
            resp = self._http.get("/actuator/health")
        except httpx.TimeoutException:
            return Health(False, f"Die E-Akte antwortet nicht (Zeitüberschreitung nach {self._timeout:g} s).")
        except httpx.TransportError:
            return Health(False, "Die E-Akte ist nicht erreichbar.")
        latency = (time.perf_counter() - start) * 1000
        status = None
        if resp.status_code == 200:
            try:
                status = resp.json().get("status")
            except ValueError:
                status = None
        if status == "UP":
            return Health(True, "E-Akte erreichbar.", latency)
        return Health(False, f"E-Akte meldet Störung (HTTP {resp.status_code}).", latency)

    # -- transport -----------------------------------------------------------------

    def _get_json(self, path: str, what: str) -> dict[str, Any]:
        resp = self._request("GET", path, what=what, idempotent=True)
        return self._json(resp)

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError as exc:
            raise SourceUnavailable("Die E-Akte hat eine unlesbare Antwort geschickt.") from exc
        if not isinstance(body, dict):
            raise SourceUnavailable("Die E-Akte hat eine unerwartete Antwort geschickt.")
        return body

    def _request(self, method: str, path: str, *, what: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        attempts = 1 + (self._retries if idempotent else 0)
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                delay = min(self._max_backoff_s, self._backoff_s * 2 ** (attempt - 1))
                time.sleep(delay * (0.75 + 0.5 * self._rng.random()))
            try:
                resp = self._http.request(method, API + path, **kwargs)
            except httpx.TimeoutException as exc:
                log.warning("%s %s: timeout (attempt %d/%d)", method, path, attempt + 1, attempts)
                last = SourceUnavailable(self._timeout_message(what, idempotent))
                last.__cause__ = exc
                continue
            except httpx.TransportError as exc:
                log.warning("%s %s: %s (attempt %d/%d)", method, path, type(exc).__name__, attempt + 1, attempts)
                last = SourceUnavailable(self._transport_message(what, idempotent))
                last.__cause__ = exc
                continue
            if resp.status_code < 400:
                return resp
            log.warning("%s %s: HTTP %d (attempt %d/%d)", method, path, resp.status_code, attempt + 1, attempts)
            error = self._map_error(resp, method, what)
            if resp.status_code in _RETRY_STATUS:
                last = error
                continue
            raise error
        assert last is not None
        raise last

    def _timeout_message(self, what: str, idempotent: bool) -> str:
        return _with_filing_note(
            f"Die E-Akte antwortet nicht rechtzeitig ({what}, Zeitüberschreitung nach {self._timeout:g} s).",
            idempotent,
        )

    @staticmethod
    def _transport_message(what: str, idempotent: bool) -> str:
        return _with_filing_note(
            f"Die E-Akte ist nicht erreichbar oder hat die Verbindung abgebrochen ({what}).", idempotent
        )

    @staticmethod
    def _map_error(resp: httpx.Response, method: str, what: str) -> Exception:
        status = resp.status_code
        if status == 401:
            return EFileAuthError(
                "Die E-Akte hat den technischen Nutzer abgelehnt (falscher oder fehlender technischer Nutzer).",
                status_code=401,
            )
        if status == 403:
            return EFileAuthError(
                f"Der technische Nutzer hat für diese Aktion keine Berechtigung ({what}).", status_code=403
            )
        source, dms_status, text = "INTERN", None, ""
        try:
            body = resp.json()
            if isinstance(body, dict):
                source = str(body.get("fehlerQuelle") or source)
                dms_status = body.get("status")
                text = str(body.get("text") or "")
        except ValueError:
            pass
        detail = f" Meldung: {text}" if text else ""
        if status == 400:
            if method == "GET":
                return NotFound(f"{what} wurde in der E-Akte nicht gefunden oder ist storniert.{detail}")
            label = "Das DMS" if source == "DMS" else "Die E-Akten-Schnittstelle"
            return EFileRefused(f"{label} hat die Anfrage abgelehnt ({what}).{detail}", source, dms_status)
        if status == 404:
            if "readDocumentObjectsMetaData" in str(resp.request.url):
                return _EndpointMissing("endpoint missing")
            return NotFound(f"{what}: Schnittstelle oder Objekt in der E-Akte nicht gefunden.")
        if status >= 500:
            return SourceUnavailable(
                f"Die E-Akte meldet einen internen Fehler (HTTP {status}) bei: {what}."
                " Bitte später erneut versuchen."
            )
        return EFileRefused(f"Unerwartete Antwort der E-Akte (HTTP {status}) bei: {what}.", source, dms_status)


class _EndpointMissing(NotFound):
    """readDocumentObjectsMetaData is not offered by this EAI version."""
