package com.example.authcore.app.push

import com.example.authcore.AuthenticatorException
import com.example.authcore.app.AuthcoreApp
import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

/**
 * FCM data messages carry only `device_id` and `request_id`: the core fetches the request itself
 * over TLS (`handlePushPayload`), and a notification opens the approval screen for it. A new FCM
 * token goes to every push account's server (`updatePushToken`, through [AuthcoreApp.sendPushToken]).
 */
class ApprovalPushService : FirebaseMessagingService() {
    override fun onMessageReceived(message: RemoteMessage) {
        val app = application as AuthcoreApp
        // Runs on FCM's worker thread, which allows a few seconds of work per message (building
        // the authenticator, at a cold start, included).
        val request = runBlocking {
            withTimeoutOrNull(8_000) {
                try {
                    app.readyAuthenticator().handlePushPayload(message.data)
                } catch (_: AuthenticatorException) {
                    null
                }
            }
        } ?: return // already answered, expired, or unreachable: nothing to show
        ApprovalNotifications.show(this, request)
    }

    override fun onNewToken(token: String) {
        PushToken.save(this, token)
        (application as AuthcoreApp).sendPushToken()
    }
}
