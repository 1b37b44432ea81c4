package com.example.authcore.app.push

import android.content.Context

/**
 * The FCM token, kept for `AuthenticatorConfig.pushToken`: the core sends it when the phone
 * registers with a server (a token that changes later reaches accounts added after that).
 */
object PushToken {
    private const val FILE = "push"
    private const val KEY = "fcm_token"

    fun saved(context: Context): String? =
        context.getSharedPreferences(FILE, Context.MODE_PRIVATE).getString(KEY, null)

    fun save(context: Context, token: String) {
        context.getSharedPreferences(FILE, Context.MODE_PRIVATE).edit().putString(KEY, token).apply()
    }
}
