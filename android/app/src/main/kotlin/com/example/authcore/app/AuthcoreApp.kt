package com.example.authcore.app

import android.app.Application
import android.os.Build
import com.example.authcore.AuthClient
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorConfig
import com.example.authcore.AuthenticatorException
import com.example.authcore.ClientConfig
import com.example.authcore.ClientException
import com.example.authcore.LogLevel
import com.example.authcore.app.authenticator.authenticatorErrorText
import com.example.authcore.app.push.PushToken
import com.example.authcore.app.signin.errorText
import com.example.authcore.initLogger
import com.example.authcore.platform.AuthcoreTrust
import com.example.authcore.platform.BiometricUserVerification
import com.example.authcore.platform.KeystoreDeviceKeys
import com.example.authcore.platform.KeystoreSecureStore
import com.example.authcore.platform.LogcatLogger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch

/** An object built off the main thread: still building, ready, or failed with a sentence. */
sealed interface Built<out T> {
    data object Building : Built<Nothing>
    data class Ready<T>(val value: T) : Built<T>
    data class Failed(val message: String) : Built<Nothing>
}

/**
 * The app's authcore objects, one each. Opening them reads the Keystore-encrypted stores, so they
 * are built on a background dispatcher in the app's scope, never during composition; a storage
 * error is a [Built.Failed] the screen shows with "Try again" ([rebuild]).
 */
class AuthcoreApp : Application() {
    /** Phone sign-in needs the device PIN or biometrics: keys and accounts are created that way. */
    private val userVerification = true

    /** Work that outlives a screen (push tokens); never cancelled while the process lives. */
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    val verification = BiometricUserVerification()

    private val _client = MutableStateFlow<Built<AuthClient>>(Built.Building)
    private val _authenticator = MutableStateFlow<Built<Authenticator>>(Built.Building)
    val client: StateFlow<Built<AuthClient>> = _client.asStateFlow()
    val authenticator: StateFlow<Built<Authenticator>> = _authenticator.asStateFlow()

    override fun onCreate() {
        super.onCreate()
        // Before any request: the core verifies certificates with Android's trust manager.
        AuthcoreTrust.init(this)
        initLogger(LogcatLogger(), if (BuildConfig.DEBUG) LogLevel.DEBUG else LogLevel.INFO)
        rebuild()
    }

    /** Builds whichever object is not ready (at start, and on "Try again" after a failure). */
    fun rebuild() {
        if (_client.value !is Built.Ready) {
            _client.value = Built.Building
            scope.launch(Dispatchers.IO) { _client.value = buildClient() }
        }
        if (_authenticator.value !is Built.Ready) {
            _authenticator.value = Built.Building
            scope.launch(Dispatchers.IO) {
                _authenticator.value = buildAuthenticator()
                sendPushToken()
            }
        }
    }

    /** The authenticator once it is built (waits while it is building or failed). */
    suspend fun readyAuthenticator(): Authenticator =
        authenticator.filterIsInstance<Built.Ready<Authenticator>>().first().value

    /**
     * Hands the OS push token the app has not yet delivered to every push account's server
     * (`updatePushToken`); the core also keeps it for accounts added later. A failure leaves it
     * pending: the next start (or the next new token) sends it again.
     */
    fun sendPushToken() {
        scope.launch {
            val token = PushToken.pending(this@AuthcoreApp) ?: return@launch
            try {
                readyAuthenticator().updatePushToken(token)
                PushToken.delivered(this@AuthcoreApp, token)
            } catch (_: AuthenticatorException) {
                // offline or refused: kept pending
            }
        }
    }

    private fun buildClient(): Built<AuthClient> = try {
        Built.Ready(
            AuthClient(
                ClientConfig(serverUrl = BuildConfig.SERVER_URL, clientId = BuildConfig.CLIENT_ID),
                KeystoreSecureStore(this, directoryName = "authcore-client"),
            ),
        )
    } catch (e: ClientException) {
        Built.Failed(errorText(e))
    }

    private fun buildAuthenticator(): Built<Authenticator> = try {
        Built.Ready(
            Authenticator(
                KeystoreSecureStore(this, directoryName = "authcore-authenticator"),
                KeystoreDeviceKeys(this, userAuthentication = userVerification),
                verification,
                AuthenticatorConfig(
                    deviceName = "${Build.MANUFACTURER} ${Build.MODEL}",
                    platform = "android",
                    pushToken = PushToken.saved(this),
                    userVerification = userVerification,
                ),
            ),
        )
    } catch (e: AuthenticatorException) {
        Built.Failed(authenticatorErrorText(e))
    }
}
