package com.example.authcore.tests

import com.example.authcore.Added
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorConfig
import com.example.authcore.AuthenticatorException
import com.example.authcore.core.DeviceAttestation
import com.example.authcore.DeviceKeys
import com.example.authcore.LogLevel
import com.example.authcore.LogRecord
import com.example.authcore.Logger
import com.example.authcore.SecureStore
import com.example.authcore.SignInListener
import com.example.authcore.SignInState
import com.example.authcore.core.MethodKind
import com.example.authcore.initLogger
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The app's callbacks throw (a bug in the app, a closed UI): authcore goes on instead of panicking
 * into an InternalException. A throwing listener or logger is ignored; a throwing biometric prompt
 * counts as "not verified" (PhoneApprovalTest); a secure store or key store that throws something
 * undeclared is "unavailable", and nothing half-done is kept.
 */
class CallbacksTest {
    @Test
    fun `a listener that throws does not stop the sign-in`() = runBlocking {
        val calls = AtomicInteger()
        val flow = TestServer.newDevice().signIn()
        flow.setListener(object : SignInListener {
            override fun onStateChanged(state: SignInState) {
                calls.incrementAndGet()
                throw IllegalStateException("the screen is gone")
            }
        })
        val methods = flow.start("bob@acme.example").expect<SignInState.ChooseMethod>()
        val code = flow.chooseMethod(methods.method(MethodKind.EMAIL_CODE)).expect<SignInState.EnterCode>()
        assertEquals(6u, code.length)
        assertEquals(2, calls.get())
        flow.cancel()
        Unit
    }

    @Test
    fun `a logger that throws loses its records and nothing else`() = runBlocking {
        val calls = AtomicInteger()
        initLogger(object : Logger {
            override fun log(record: LogRecord) {
                calls.incrementAndGet()
                throw RuntimeException("logcat is full")
            }
        }, LogLevel.DEBUG)
        try {
            val flow = TestServer.newDevice().signIn()
            flow.setListener(ScreenRecorder()) // its state changes are logged at debug
            flow.start("bob@acme.example").expect<SignInState.ChooseMethod>()
            assertTrue("the logger was called", calls.get() > 0)
        } finally {
            initLogger(object : Logger {
                override fun log(record: LogRecord) {}
            }, LogLevel.ERROR)
        }
    }

    private fun phone(store: SecureStore, keys: DeviceKeys) = Authenticator(
        store,
        keys,
        Fingerprint(),
        AuthenticatorConfig(
            deviceName = "Broken phone",
            platform = "android",
            pushToken = null,
            userVerification = true,
            extraRootCaPem = TestServer.caPem,
            resolve = mapOf(TestServer.APP_HOST to "127.0.0.1"),
        ),
    )

    private val uri = "otpauth://totp/Acme:bob@acme.example?secret=JBSWY3DPEHPK3PXP&issuer=Acme"

    @Test
    fun `a secure store that throws is StorageUnavailable and keeps nothing half-written`() = runBlocking {
        // Keystore locked at start: the authenticator cannot open
        val locked = object : SecureStore {
            override fun get(key: String): ByteArray? = throw IllegalStateException("Keystore is locked")
            override fun put(key: String, value: ByteArray) = throw IllegalStateException("Keystore is locked")
            override fun delete(key: String) = throw IllegalStateException("Keystore is locked")
            override fun list(): List<String> = throw IllegalStateException("Keystore is locked")
        }
        val refused = assertThrowsSuspend<AuthenticatorException.StorageUnavailable> { phone(locked, JdkDeviceKeys()) }
        assertEquals("the secure store is unavailable", refused.message)

        // the disk fills up while adding an account: refused, and the account is not listed
        val full = object : SecureStore by MemoryStore() {
            override fun put(key: String, value: ByteArray) = throw RuntimeException("no space left on device")
        }
        val phone = phone(full, JdkDeviceKeys())
        assertThrowsSuspend<AuthenticatorException.StorageUnavailable> { phone.addFromQr(uri) }
        assertEquals(emptyList<Any>(), phone.accounts())
    }

    @Test
    fun `a key store that throws is DeviceKeyUnavailable before anything is sent`() = runBlocking {
        val broken = object : DeviceKeys {
            override fun generate(alias: String): ByteArray = throw java.security.ProviderException("StrongBox failed")
            override fun publicKey(alias: String): ByteArray = throw java.security.ProviderException("StrongBox failed")
            override fun sign(alias: String, message: ByteArray): ByteArray = throw java.security.ProviderException("StrongBox failed")
            override fun delete(alias: String) = throw java.security.ProviderException("StrongBox failed")
            override fun attestation(alias: String, challenge: ByteArray): DeviceAttestation? = null
        }
        val phone = phone(MemoryStore(), broken)
        // a well-formed enrollment link: the key is made before the server is asked
        val link = "authcore://enroll?v=1&url=https%3A%2F%2F${TestServer.APP_HOST}%3A${TestServer.port}&code=7K3MQ9XAR2TD"
        val refused = assertThrowsSuspend<AuthenticatorException.DeviceKeyUnavailable> { phone.addFromQr(link) }
        assertEquals("the device key is unavailable", refused.message)
        assertEquals(emptyList<Any>(), phone.accounts())
        // the code accounts do not need the key store
        assertTrue(phone.addFromQr(uri) is Added.Otp)
    }
}
