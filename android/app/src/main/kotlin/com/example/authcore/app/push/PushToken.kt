package com.example.authcore.app.push

import android.content.Context

/**
 * The FCM token: passed as `AuthenticatorConfig.pushToken` when the Authenticator is built (for
 * accounts added later), and delivered to every existing push account with `updatePushToken`
 * whenever FCM hands a new one (`onNewToken`). A token not yet delivered stays pending until a
 * call succeeds.
 */
object PushToken {
    private const val FILE = "push"
    private const val KEY = "fcm_token"
    private const val DELIVERED = "fcm_token_delivered"

    fun saved(context: Context): String? = prefs(context).getString(KEY, null)

    /** A new token from FCM: kept, and pending until delivered. */
    fun save(context: Context, token: String) {
        prefs(context).edit().putString(KEY, token).putBoolean(DELIVERED, false).apply()
    }

    /** The saved token, if no server has it yet. */
    fun pending(context: Context): String? =
        saved(context)?.takeUnless { prefs(context).getBoolean(DELIVERED, false) }

    /** Every push account's server has [token] (unless FCM replaced it meanwhile). */
    fun delivered(context: Context, token: String) {
        if (saved(context) == token) prefs(context).edit().putBoolean(DELIVERED, true).apply()
    }

    private fun prefs(context: Context) = context.getSharedPreferences(FILE, Context.MODE_PRIVATE)
}
