package com.example.authcore.tests

import com.example.authcore.AuthClient
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorConfig
import com.example.authcore.ClientConfig
import java.io.File
import java.net.URL
import java.net.URLEncoder
import java.security.KeyStore
import java.security.cert.CertificateFactory
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory

/**
 * The `authcore server --dev` process scripts/test-kotlin.sh started: demo.toml behind TLS with a
 * test CA. The app talks to https://id.authcore.test:PORT; Globex users continue at their own
 * sign-in host login.globex.example:PORT. Both names resolve to 127.0.0.1 through the client's
 * resolve overrides, and TLS checks them against the test CA the client trusts.
 */
object TestServer {
    const val CLIENT_ID = "authcore-demo-app"
    const val APP_HOST = "id.authcore.test"
    const val GLOBEX_HOST = "login.globex.example"

    val port: Int = requireNotNull(System.getenv("AUTHCORE_TEST_PORT")) { "AUTHCORE_TEST_PORT is not set" }.toInt()
    val caPem: String = File(requireNotNull(System.getenv("AUTHCORE_TEST_CA")) { "AUTHCORE_TEST_CA is not set" }).readText()
    val url = "https://$APP_HOST:$port"
    val globexUrl = "https://$GLOBEX_HOST:$port"
    private val resolve = mapOf(APP_HOST to "127.0.0.1", GLOBEX_HOST to "127.0.0.1")

    /** The app on a new device (its own empty store). */
    fun newDevice(store: MemoryStore = MemoryStore()): AuthClient =
        AuthClient(
            ClientConfig(serverUrl = url, clientId = CLIENT_ID, extraRootCaPem = caPem, resolve = resolve),
            store,
        )

    /** An authenticator phone with the given keys and biometric prompt. */
    fun newPhone(name: String, keys: JdkDeviceKeys, fingerprint: Fingerprint): Authenticator =
        Authenticator(
            MemoryStore(),
            keys,
            fingerprint,
            AuthenticatorConfig(
                deviceName = name,
                platform = "android",
                pushToken = null,
                userVerification = true,
                extraRootCaPem = caPem,
                resolve = resolve,
            ),
        )

    private val tls: SSLContext by lazy {
        val ca = CertificateFactory.getInstance("X.509").generateCertificate(caPem.byteInputStream())
        val keyStore = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
            load(null, null)
            setCertificateEntry("authcore-test-ca", ca)
        }
        val trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(keyStore) }
        SSLContext.getInstance("TLS").apply { init(null, trust.trustManagers, null) }
    }

    /** The 6-digit code of the newest message the dev outbox holds for [to] (GET /dev/outbox). */
    fun lastCode(to: String): String {
        val connection = URL("https://127.0.0.1:$port/dev/outbox?to=" + URLEncoder.encode(to, "UTF-8"))
            .openConnection() as HttpsURLConnection
        connection.sslSocketFactory = tls.socketFactory
        val body = try {
            connection.inputStream.bufferedReader().readText()
        } finally {
            connection.disconnect()
        }
        return Regex("code is (\\d{6})").findAll(body).lastOrNull()?.groupValues?.get(1)
            ?: error("no code in the outbox for $to")
    }
}
