package com.example.authcore.tests

import com.example.authcore.Account
import java.time.Instant
import com.example.authcore.Added
import com.example.authcore.AuthenticatorException
import com.example.authcore.core.OtpKind
import java.nio.ByteBuffer
import java.security.SecureRandom
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Test

class OtpCodesTest {
    /** RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", 8 digits, 30 s steps. */
    private val rfcUri = "otpauth://totp/RFC6238:test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&issuer=RFC6238"

    @Test
    fun `the codes of a scanned otpauth URI are RFC 6238's test vectors`() = runBlocking {
        val phone = TestServer.newPhone("Codes phone", JdkDeviceKeys(), Fingerprint())
        val added = phone.addFromQr(rfcUri) as Added.Otp
        assertEquals(1, added.import.added.size)
        val account = (phone.accounts().single() as Account.Otp).account
        assertEquals("RFC6238", account.issuer)
        assertEquals("test", account.name)
        assertEquals(OtpKind.Totp(30u), account.kind)
        assertEquals(8.toUByte(), account.digits)

        for ((time, expected) in listOf(59L to "94287082", 1111111109L to "07081804", 1234567890L to "89005924", 2000000000L to "69279037")) {
            val code = phone.codes(Instant.ofEpochSecond(time)).single()
            assertEquals("code at $time", expected, code.code)
        }
        assertEquals(1u, phone.codes(Instant.ofEpochSecond(59)).single().secondsLeft)
    }

    @Test
    fun `the codes equal an independent HMAC-SHA1 TOTP computed in Kotlin right now`() = runBlocking {
        val secret = ByteArray(20).also { SecureRandom().nextBytes(it) }
        val phone = TestServer.newPhone("Codes phone", JdkDeviceKeys(), Fingerprint())
        phone.addFromQr("otpauth://totp/Acme:alice@acme.example?secret=${base32(secret)}&issuer=Acme")
        val now = Instant.now()
        assertEquals(totp(secret, now.epochSecond, 6), phone.codes(now).single().code)
    }

    @Test
    fun `a QR code that is not an authenticator code is an InvalidQr exception`() = runBlocking {
        val phone = TestServer.newPhone("Codes phone", JdkDeviceKeys(), Fingerprint())
        assertThrowsSuspend<AuthenticatorException.InvalidQr> { phone.addFromQr("https://example.com/not-a-code") }
        assertEquals(0, phone.accounts().size)
    }

    private fun totp(secret: ByteArray, now: Long, digits: Int): String {
        val mac = Mac.getInstance("HmacSHA1").apply { init(SecretKeySpec(secret, "HmacSHA1")) }
        val hash = mac.doFinal(ByteBuffer.allocate(8).putLong(now / 30).array())
        val offset = hash.last().toInt() and 0x0f
        val binary = ByteBuffer.wrap(hash, offset, 4).int and 0x7fffffff
        var modulus = 1
        repeat(digits) { modulus *= 10 }
        return (binary % modulus).toString().padStart(digits, '0')
    }

    private fun base32(bytes: ByteArray): String {
        val alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        val out = StringBuilder()
        var buffer = 0
        var bits = 0
        for (b in bytes) {
            buffer = (buffer shl 8) or (b.toInt() and 0xff)
            bits += 8
            while (bits >= 5) {
                out.append(alphabet[(buffer shr (bits - 5)) and 31])
                bits -= 5
            }
        }
        if (bits > 0) out.append(alphabet[(buffer shl (5 - bits)) and 31])
        return out.toString()
    }
}
