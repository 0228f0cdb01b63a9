"""card_helper: the local card agent the clinic runs next to the browser.

It talks to the institution card (PC/SC with the helper's own APDU profile, or the card
vendor's PKCS#11 module) and answers the portal page on 127.0.0.1 only. It never imports
the portal: the portal checks what it returns. The PIN stays on the clinic PC.
"""

# 1.1.0: --version; /v1/status names its `state`; a card without the application is
# `wrong_card`, no longer `no_card`. The portal names the oldest version it works with.
__version__ = "1.1.0"
