"""Every webhook path, in one place. Twilio's console and the TwiML we have already handed out
point at these: rename none of them."""

INCOMING = "/voice/incoming"
STATUS = "/voice/status"
FALLBACK = "/voice/fallback"

MENU = "/voice/menu"
MENU_INPUT = "/voice/menu/input"

CALLBACK_REQUEST = "/voice/callback"
CALLBACK_REQUEST_INPUT = "/voice/callback/input"
CALLBACK_REQUEST_MESSAGE = "/voice/callback/message"
CALLBACK_REQUEST_RECORDING = "/voice/callback/recording"

OPERATOR = "/voice/operator"
QUEUE_WAIT = "/voice/queue/wait"
QUEUE_KEY = "/voice/queue/key"
QUEUE_LEFT = "/voice/queue/left"
QUEUE_CONNECT = "/voice/queue/connect"
OPERATOR_ANSWER = "/voice/operator/answer"
OPERATOR_ACCEPT = "/voice/operator/accept"
OPERATOR_DONE = "/voice/operator/done"
OPERATOR_STATUS = "/voice/operator/status"

# Not Twilio's: for load balancers, monitoring and Twilio's Debugger.
HEALTHZ = "/healthz"
READYZ = "/readyz"
METRICS = "/metrics"
DEBUGGER = "/twilio/debugger"

# An operator calls a person back from their page: the operator's phone first, then the caller.
CALL_BACK_ANSWER = "/voice/callback-call/answer"
CALL_BACK_ACCEPT = "/voice/callback-call/accept"
CALL_BACK_DIALED = "/voice/callback-call/dialed"
CALL_BACK_STATUS = "/voice/callback-call/status"
CALL_BACK_CALLER_STATUS = "/voice/callback-call/caller-status"
