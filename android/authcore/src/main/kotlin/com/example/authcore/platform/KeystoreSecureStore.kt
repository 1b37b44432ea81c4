package com.example.authcore.platform

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.AtomicFile
import com.example.authcore.SecureStore
import com.example.authcore.SecureStoreException
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's [SecureStore]: one file per key in the app's no-backup directory, each value
 * encrypted with AES-256-GCM under a non-exportable Android Keystore key (the entry's name is the
 * associated data, so a file moved to another name does not decrypt). Writes go through
 * [AtomicFile]: a reader sees the old value or the new one, never half of one.
 *
 * File: `[version 1][12-byte IV][ciphertext + 16-byte tag]`, named by the hex of the key.
 */
class KeystoreSecureStore(
    context: Context,
    private val keyAlias: String = "authcore.secure-store",
    directoryName: String = "authcore-store",
) : SecureStore {
    private val dir = File(context.noBackupFilesDir, directoryName)
    private val lock = Any()

    override fun get(key: String): ByteArray? = guarded {
        val bytes = try {
            AtomicFile(fileOf(key)).readFully()
        } catch (_: FileNotFoundException) {
            return@guarded null
        }
        decrypt(key, bytes)
    }

    override fun put(key: String, value: ByteArray) = guarded {
        dir.mkdirs()
        val file = AtomicFile(fileOf(key))
        val out = file.startWrite()
        try {
            out.write(encrypt(key, value))
            file.finishWrite(out)
        } catch (e: Exception) {
            file.failWrite(out)
            throw e
        }
    }

    override fun delete(key: String) = guarded { AtomicFile(fileOf(key)).delete() }

    override fun list(): List<String> = guarded {
        // AtomicFile keeps `.bak` / `.new` siblings while a write is in flight: one entry each.
        (dir.list() ?: emptyArray())
            .map { it.substringBefore('.') }
            .distinct()
            .mapNotNull(::unhex)
            .sorted()
    }

    private fun fileOf(key: String) = File(dir, hex(key.toByteArray(Charsets.UTF_8)) + ".v")

    private fun encrypt(key: String, value: ByteArray): ByteArray {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, secretKey()) // the Keystore picks a random IV
        cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
        val sealed = cipher.doFinal(value)
        return byteArrayOf(VERSION) + cipher.iv + sealed
    }

    private fun decrypt(key: String, bytes: ByteArray): ByteArray {
        if (bytes.size < 1 + IV_BYTES || bytes[0] != VERSION) throw SecureStoreException.Unavailable()
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, secretKey(), GCMParameterSpec(128, bytes, 1, IV_BYTES))
        cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
        return cipher.doFinal(bytes, 1 + IV_BYTES, bytes.size - 1 - IV_BYTES)
    }

    private fun secretKey(): SecretKey {
        val keyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        (keyStore.getKey(keyAlias, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(keyAlias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }

    /** One operation at a time; platform failures become the declared `Unavailable`. */
    private inline fun <T> guarded(block: () -> T): T = synchronized(lock) {
        try {
            block()
        } catch (e: SecureStoreException) {
            throw e
        } catch (_: GeneralSecurityException) {
            throw SecureStoreException.Unavailable()
        } catch (_: IOException) {
            throw SecureStoreException.Unavailable()
        } catch (_: java.security.ProviderException) {
            throw SecureStoreException.Unavailable()
        }
    }

    private companion object {
        const val ANDROID_KEYSTORE = "AndroidKeyStore"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val VERSION: Byte = 1
        const val IV_BYTES = 12

        fun hex(bytes: ByteArray) = bytes.joinToString("") { "%02x".format(it) }

        fun unhex(name: String): String? {
            if (name.isEmpty() || name.length % 2 != 0) return null
            val bytes = ByteArray(name.length / 2) { i ->
                name.substring(2 * i, 2 * i + 2).toIntOrNull(16)?.toByte() ?: return null
            }
            return bytes.toString(Charsets.UTF_8)
        }
    }
}
