package com.example.authcore.platform

import android.util.Log
import com.example.authcore.LogLevel
import com.example.authcore.LogRecord
import com.example.authcore.Logger

/**
 * authcore's log records in Logcat under one tag. The records carry no user data (the core's
 * rule), so nothing is filtered here. Install once: `initLogger(LogcatLogger(), LogLevel.INFO)`.
 */
class LogcatLogger(private val tag: String = "authcore") : Logger {
    override fun log(record: LogRecord) {
        val line = "${record.target}: ${record.message}"
        when (record.level) {
            LogLevel.ERROR -> Log.e(tag, line)
            LogLevel.WARN -> Log.w(tag, line)
            LogLevel.INFO -> Log.i(tag, line)
            LogLevel.DEBUG -> Log.d(tag, line)
            LogLevel.TRACE -> Log.v(tag, line)
        }
    }
}
