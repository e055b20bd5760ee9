"""German user-facing messages of the web layer, in one place."""

INTERNAL_ERROR = "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es erneut oder wenden Sie sich an den IT-Service."
EMPTY_QUESTION = "Bitte geben Sie eine Frage ein."
QUESTION_TOO_LONG = "Die Frage ist zu lang (höchstens 2.000 Zeichen)."
MALFORMED = "Die Anfrage ist ungültig: {detail}"
UNKNOWN_MESSAGE = "Unbekannte Nachricht. Erwartet wird {\"type\": \"ask\", \"question\": \"...\"} oder {\"type\": \"cancel\"}."
BUSY = "Es läuft bereits eine Antwort. Bitte warten oder abbrechen."
INDEX_UNAVAILABLE = "Der Wissensspeicher ist gerade nicht erreichbar. Bitte später erneut versuchen."
