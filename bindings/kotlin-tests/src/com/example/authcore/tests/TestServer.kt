package com.example.authcore.tests

import com.example.authcore.AuthClient
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorConfig
import com.example.authcore.ClientConfig
import java.io.File
import java.net.URL
import java.net.URLEncoder
import java.security.KeyStore
import java.security.MessageDigest
import java.security.SecureRandom
import java.security.cert.CertificateFactory
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import java.util.Base64

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

    /**
     * `GET /v1/devices/challenges` signed by [deviceId]'s key as an app from before number
     * matching sends it: no `Authcore-Protocol-Version` header (docs/protocol.md, "Signed device
     * requests"). Answers the status and the body.
     */
    fun fetchAsAnOldApp(deviceId: String, sign: (ByteArray) -> ByteArray): Pair<Int, String> {
        val path = "/v1/devices/challenges"
        val base64url = Base64.getUrlEncoder().withoutPadding()
        val timestamp = System.currentTimeMillis() / 1000
        val nonce = base64url.encodeToString(ByteArray(16).also { SecureRandom().nextBytes(it) })
        val emptyBody = base64url.encodeToString(MessageDigest.getInstance("SHA-256").digest(ByteArray(0)))
        val message = listOf("AUTHCORE-DEVICE-REQUEST-V1", "GET", path, emptyBody, "$timestamp", nonce, deviceId)
            .joinToString("\n")
        val connection = URL("https://127.0.0.1:$port$path").openConnection() as HttpsURLConnection
        connection.sslSocketFactory = tls.socketFactory
        connection.setRequestProperty("Authcore-Device-Id", deviceId)
        connection.setRequestProperty("Authcore-Timestamp", "$timestamp")
        connection.setRequestProperty("Authcore-Nonce", nonce)
        connection.setRequestProperty("Authcore-Signature", base64url.encodeToString(sign(message.toByteArray())))
        return try {
            val status = connection.responseCode
            val body = (if (status >= 400) connection.errorStream else connection.inputStream)
                .bufferedReader().readText()
            status to body
        } finally {
            connection.disconnect()
        }
    }
}
