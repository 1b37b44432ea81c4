package com.example.authcore.app

import android.app.Application
import android.os.Build
import com.example.authcore.AuthClient
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorConfig
import com.example.authcore.ClientConfig
import com.example.authcore.LogLevel
import com.example.authcore.initLogger
import com.example.authcore.platform.AuthcoreTrust
import com.example.authcore.platform.BiometricUserVerification
import com.example.authcore.platform.KeystoreDeviceKeys
import com.example.authcore.platform.KeystoreSecureStore
import com.example.authcore.platform.LogcatLogger
import com.example.authcore.app.push.PushToken

/** The app's authcore objects, one each, built on first use. */
class AuthcoreApp : Application() {
    /** Phone sign-in needs the device PIN or biometrics: keys and accounts are created that way. */
    private val userVerification = true

    val verification = BiometricUserVerification()

    val client: AuthClient by lazy {
        AuthClient(
            ClientConfig(serverUrl = BuildConfig.SERVER_URL, clientId = BuildConfig.CLIENT_ID),
            KeystoreSecureStore(this, directoryName = "authcore-client"),
        )
    }

    val authenticator: Authenticator by lazy {
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
        )
    }

    override fun onCreate() {
        super.onCreate()
        // Before any request: the core verifies certificates with Android's trust manager.
        AuthcoreTrust.init(this)
        initLogger(LogcatLogger(), if (BuildConfig.DEBUG) LogLevel.DEBUG else LogLevel.INFO)
    }
}
