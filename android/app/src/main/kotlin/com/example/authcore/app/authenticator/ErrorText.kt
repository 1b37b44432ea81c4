package com.example.authcore.app.authenticator

import com.example.authcore.AuthenticatorException

/** The sentence for an authenticator error; each variant says what to do. */
fun authenticatorErrorText(e: AuthenticatorException): String = when (e) {
    is AuthenticatorException.InvalidQr -> e.what
    is AuthenticatorException.InvalidActivationCode -> "The activation code is not valid. Ask for a new QR code."
    is AuthenticatorException.Expired -> "This request expired."
    is AuthenticatorException.AlreadyAnswered -> "This request was already answered."
    is AuthenticatorException.UnknownRequest -> "This request no longer exists."
    is AuthenticatorException.DeviceRemoved -> "This phone was removed from the account."
    is AuthenticatorException.NumberMismatch -> "The number did not match. The sign-in was denied."
    is AuthenticatorException.InvalidNumber -> "Enter the ${e.length}-digit number shown on the sign-in screen."
    is AuthenticatorException.RateLimited -> "Too many requests. Try again in ${e.retryAfterSeconds} s."
    is AuthenticatorException.UserNotVerified -> "You were not verified. Nothing was sent."
    is AuthenticatorException.DeviceKeyUnavailable -> "The device key is unavailable (is a screen lock set?)."
    is AuthenticatorException.Network, is AuthenticatorException.Timeout -> "No connection to the server. Try again."
    else -> "Something went wrong (${e::class.simpleName}). Try again."
}
