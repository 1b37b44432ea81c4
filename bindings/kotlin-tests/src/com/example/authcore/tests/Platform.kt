package com.example.authcore.tests

import com.example.authcore.DeviceKeyException
import com.example.authcore.core.DeviceAttestation
import com.example.authcore.DeviceKeys
import com.example.authcore.SecureStore
import com.example.authcore.UserVerification
import kotlinx.coroutines.delay
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.Collections
import java.util.TreeMap
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/** The app's SecureStore, in memory (a Keystore-encrypted file on a phone). */
class MemoryStore : SecureStore {
    private val entries = Collections.synchronizedSortedMap(TreeMap<String, ByteArray>())

    override fun get(key: String): ByteArray? = entries[key]?.copyOf()

    override fun put(key: String, value: ByteArray) {
        entries[key] = value.copyOf()
    }

    override fun delete(key: String) {
        entries.remove(key)
    }

    override fun list(): List<String> = synchronized(entries) { entries.keys.toList() }
}

/**
 * Device keys on the JDK's own EC P-256 (what Android Keystore does in hardware): the SPKI is the
 * public key's X.509 encoding, signatures are SHA256withECDSA in ASN.1 DER.
 */
class JdkDeviceKeys : DeviceKeys {
    private val keys = ConcurrentHashMap<String, KeyPair>()
    val signatures = AtomicInteger()

    override fun generate(alias: String): ByteArray {
        val generator = KeyPairGenerator.getInstance("EC")
        generator.initialize(ECGenParameterSpec("secp256r1"))
        val pair = generator.generateKeyPair()
        if (keys.putIfAbsent(alias, pair) != null) throw DeviceKeyException.AlreadyExists()
        return pair.public.encoded
    }

    override fun publicKey(alias: String): ByteArray = pair(alias).public.encoded

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val signer = Signature.getInstance("SHA256withECDSA")
        signer.initSign(pair(alias).private)
        signer.update(message)
        signatures.incrementAndGet()
        return signer.sign()
    }

    override fun delete(alias: String) {
        keys.remove(alias)
    }

    /** The JDK proves nothing about where a key lives: no attestation. */
    override fun attestation(alias: String, challenge: ByteArray): DeviceAttestation? = null

    val aliases: Set<String> get() = keys.keys

    private fun pair(alias: String) = keys[alias] ?: throw DeviceKeyException.UnknownKey()
}

/** The biometric prompt: answers after a short while (a suspend function, as a real prompt). */
class Fingerprint(private val accept: Boolean = true) : UserVerification {
    val asked: MutableList<String> = Collections.synchronizedList(mutableListOf())

    /** The prompt crashes (an app bug) instead of answering. */
    @Volatile var throws: Boolean = false

    override suspend fun verifyUser(reason: String): Boolean {
        asked.add(reason)
        delay(20)
        if (throws) throw IllegalStateException("the prompt crashed")
        return accept
    }
}
