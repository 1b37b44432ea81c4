package com.example.authcore.platform

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import com.example.authcore.core.DeviceAttestation
import com.example.authcore.DeviceKeyException
import com.example.authcore.DeviceKeys
import java.security.GeneralSecurityException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.ProviderException
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * The core's [DeviceKeys] in the Android Keystore: EC P-256 signing keys that never leave the
 * secure hardware (StrongBox when the phone has one, else the TEE).
 *
 * With [userAuthentication] (the same choice as `AuthenticatorConfig.userVerification`) a key
 * signs only within [authValiditySeconds] of a strong biometric or the device PIN. The core runs
 * `UserVerification` (BiometricPrompt) right before it signs an approval, which opens that window;
 * the key itself enforces it.
 *
 * [attestation] regenerates the key with the server's challenge (`setAttestationChallenge`: the
 * Keystore binds it at generation) and answers its certificate chain (Android Key Attestation).
 * The server then trusts the key's user verification for phone sign-in without a password.
 */
class KeystoreDeviceKeys(
    context: Context,
    private val userAuthentication: Boolean,
    private val authValiditySeconds: Int = 30,
) : DeviceKeys {
    private val hasStrongBox = Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
        context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

    override fun generate(alias: String): ByteArray = platform {
        val name = entry(alias)
        if (keyStore().containsAlias(name)) throw DeviceKeyException.AlreadyExists()
        create(name, challenge = null).public.encoded // X.509 SubjectPublicKeyInfo, DER
    }

    /**
     * Called by the core right after [generate], before the key signs anything: the key under
     * [alias] is replaced by one generated with [challenge] as its attestation challenge, and
     * its Keystore certificate chain (leaf first) is the attestation. The core reads
     * [publicKey] again afterwards. No attestation (`null`) when the key does not require the
     * user (the server would refuse it), before Android 7 (no Key Attestation), or when the
     * Keystore cannot attest (some devices refuse): the account then approves after a password
     * only.
     */
    override fun attestation(alias: String, challenge: ByteArray): DeviceAttestation? = platform {
        if (!userAuthentication || Build.VERSION.SDK_INT < Build.VERSION_CODES.N) return@platform null
        val name = entry(alias)
        val keyStore = keyStore()
        if (!keyStore.containsAlias(name)) throw DeviceKeyException.UnknownKey()
        keyStore.deleteEntry(name)
        try {
            create(name, challenge)
        } catch (_: ProviderException) {
            // This Keystore cannot attest: a plain key as before, and no attestation.
            create(name, challenge = null)
            return@platform null
        }
        val chain = keyStore().getCertificateChain(name) ?: return@platform null
        DeviceAttestation.AndroidKey(certificates = chain.map { it.encoded })
    }

    /** Generates the key `name` (StrongBox when there is one, else the TEE). */
    private fun create(name: String, challenge: ByteArray?) = try {
        generatePair(name, strongBox = hasStrongBox, challenge = challenge)
    } catch (e: ProviderException) {
        // StrongBox advertised but refused this key (busy, no slot): the TEE instead.
        if (hasStrongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P && e is StrongBoxUnavailableException) {
            generatePair(name, strongBox = false, challenge = challenge)
        } else {
            throw e
        }
    }

    override fun publicKey(alias: String): ByteArray = platform {
        keyStore().getCertificate(entry(alias))?.publicKey?.encoded ?: throw DeviceKeyException.UnknownKey()
    }

    override fun sign(alias: String, message: ByteArray): ByteArray = platform {
        val key = keyStore().getKey(entry(alias), null) as? PrivateKey ?: throw DeviceKeyException.UnknownKey()
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key) // UserNotAuthenticatedException when the verification window is closed
            update(message)
            sign() // ASN.1 DER (X9.62)
        }
    }

    override fun delete(alias: String) {
        platform {
            val keyStore = keyStore()
            if (keyStore.containsAlias(entry(alias))) keyStore.deleteEntry(entry(alias))
        }
    }

    private fun generatePair(name: String, strongBox: Boolean, challenge: ByteArray?) =
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, ANDROID_KEYSTORE).run {
            initialize(spec(name, strongBox, challenge))
            generateKeyPair()
        }

    @Suppress("DEPRECATION")
    private fun spec(name: String, strongBox: Boolean, challenge: ByteArray?): KeyGenParameterSpec =
        KeyGenParameterSpec.Builder(name, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .apply {
                if (strongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) setIsStrongBoxBacked(true)
                // Key Attestation (API 24): the leaf certificate carries this challenge.
                if (challenge != null && Build.VERSION.SDK_INT >= Build.VERSION_CODES.N) {
                    setAttestationChallenge(challenge)
                }
                if (userAuthentication) {
                    setUserAuthenticationRequired(true)
                    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                        setUserAuthenticationParameters(
                            authValiditySeconds,
                            KeyProperties.AUTH_BIOMETRIC_STRONG or KeyProperties.AUTH_DEVICE_CREDENTIAL,
                        )
                    } else {
                        setUserAuthenticationValidityDurationSeconds(authValiditySeconds)
                    }
                }
            }
            .build()

    private fun keyStore(): KeyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }

    private fun entry(alias: String) = "authcore.device.$alias"

    /**
     * Declared errors pass through; everything the platform throws (no lock screen set, key
     * invalidated by a new fingerprint, user not authenticated, hardware error) is `Unavailable`.
     */
    private inline fun <T> platform(block: () -> T): T = try {
        block()
    } catch (e: DeviceKeyException) {
        throw e
    } catch (_: GeneralSecurityException) {
        throw DeviceKeyException.Unavailable()
    } catch (_: ProviderException) {
        throw DeviceKeyException.Unavailable()
    } catch (_: IllegalStateException) {
        throw DeviceKeyException.Unavailable()
    } catch (_: java.io.IOException) {
        throw DeviceKeyException.Unavailable()
    }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
    }
}
