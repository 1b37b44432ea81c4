package com.example.authcore.app.signin

import com.example.authcore.ClientException

/** The sentence for a sign-in error: each variant carries what the user can act on. */
fun errorText(e: ClientException): String = when (e) {
    is ClientException.WrongCredential ->
        e.attemptsLeft?.let { "That is not correct. $it attempts left." } ?: "That is not correct."
    is ClientException.Expired -> "The code expired. Ask for a new one."
    // the core's sentence names the limit reached ("3 codes were sent in 10 minutes; try again in 8 min")
    is ClientException.RateLimited -> e.message.orEmpty().replaceFirstChar { it.uppercase() } + "."
    is ClientException.Locked -> "The account is locked. Try again in ${e.retryAfterSeconds} s."
    is ClientException.PushDenied ->
        if (e.fraudReported) "The request was reported as fraud on your phone." else "The request was denied on your phone."
    is ClientException.NumberMismatch -> "The number entered on the phone did not match."
    is ClientException.PhoneAppTooOld -> "The authenticator app on your phone must be updated to show sign-in numbers. Update it, or choose another way to sign in."
    is ClientException.PushBlocked -> "Requests to your phone are paused for ${e.retryAfterSeconds} s."
    is ClientException.EnrollmentRequired -> "Your organisation requires an authenticator app."
    is ClientException.SignInExpired -> "This sign-in expired. Start again."
    is ClientException.StepUpRequired -> "Confirm it's you: sign in again with your second factor to make this change."
    is ClientException.WeakPassword -> "That password is not allowed: ${e.reason}"
    is ClientException.InvalidInput -> e.what
    is ClientException.Network, is ClientException.Timeout -> "No connection to the server. Try again."
    is ClientException.Cancelled -> "Cancelled."
    else -> "Something went wrong (${e::class.simpleName}). Try again."
}
